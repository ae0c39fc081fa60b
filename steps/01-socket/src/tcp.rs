//! The TCP header (RFC 9293), the part of a segment we build by hand.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------------------------------+-------------------------------+
//! |          Source Port          |       Destination Port        |  0
//! +-------------------------------+-------------------------------+
//! |                        Sequence Number                        |  4
//! +---------------------------------------------------------------+
//! |                    Acknowledgment Number                      |  8
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! | Data  |       |C|E|U|A|P|R|S|F|                               |
//! |Offset | Rsrvd |W|C|R|C|S|S|Y|I|            Window             | 12
//! |       |       |R|E|G|K|H|T|N|N|                               |
//! +-------+-------+-+-+-+-+-+-+-+-+-------------------------------+
//! |           Checksum            |        Urgent Pointer         | 16
//! +-------------------------------+-------------------------------+
//! |           Options (data offset > 5), up to 40 bytes           | 20
//! +---------------------------------------------------------------+
//! |                             Data                              |
//! +---------------------------------------------------------------+
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::{Add, AddAssign, BitOr, Sub};

use crate::checksum::{self, ChecksumCheck, PROTO_TCP};
use crate::error::ParseError;

// ANCHOR: field
/// Byte ranges of the header's fields, named after RFC 9293.
pub mod field {
    /// A field's byte range.
    pub type Field = std::ops::Range<usize>;
    /// Source port.
    pub const SRC_PORT: Field = 0..2;
    /// Destination port.
    pub const DST_PORT: Field = 2..4;
    /// Sequence number of the first payload byte (or of the SYN).
    pub const SEQ_NUM: Field = 4..8;
    /// Next sequence number the sender expects, valid with ACK.
    pub const ACK_NUM: Field = 8..12;
    /// Data offset (high nibble, header length in 32-bit words) and reserved bits.
    pub const DATA_OFF: usize = 12;
    /// The eight flag bits.
    pub const FLAGS: usize = 13;
    /// Receive window.
    pub const WINDOW: Field = 14..16;
    /// Checksum over pseudo-header, header and payload.
    pub const CHECKSUM: Field = 16..18;
    /// Urgent pointer, valid with URG.
    pub const URGENT: Field = 18..20;
}

/// Length of a header without options: derived from the last field.
pub const MIN_HEADER_LEN: usize = field::URGENT.end;
// ANCHOR_END: field

/// The data offset (header length in 32-bit words), the high nibble of byte
/// [`field::DATA_OFF`]; the low nibble is reserved (its last bit is the old
/// experimental NS flag), and [`TcpRepr`] does not represent it.
pub const DATA_OFFSET_MASK: u8 = 0xf0;

/// The longest segment: the pseudo-header counts the TCP length in 16 bits,
/// and no IPv4 packet carries more.
pub const MAX_SEGMENT_LEN: usize = u16::MAX as usize;

// ANCHOR: seq_number
/// A TCP sequence or acknowledgment number: 32 bits that wrap around
/// (RFC 9293, section 3.4). Two numbers are ordered by the short way from one
/// to the other, not by size: 1 comes *after* 2^32 - 2 (see [`PartialOrd`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The longest step `+` takes: 2^31 - 1 bytes, half the sequence space.
    ///
    /// A step of 2^31 or more cannot be told from a step backwards (the sum
    /// would compare *before* where it started), and one of 2^32 or more would
    /// lose its high bits in the 32-bit field. Every length in a segment is at
    /// most 65535, so only a bug can go past it: `+` panics there, as smoltcp's
    /// does, rather than return a wrong number.
    pub const MAX_STEP: usize = i32::MAX as usize;
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;
    /// Advances by `n` bytes, wrapping at 2^32.
    ///
    /// # Panics
    /// If `n` is above [`SeqNumber::MAX_STEP`].
    fn add(self, n: usize) -> SeqNumber {
        assert!(
            n <= SeqNumber::MAX_STEP,
            "a sequence number advances by at most 2^31 - 1, not {n}"
        );
        // n fits in 31 bits: the cast keeps all of it.
        SeqNumber(self.0.wrapping_add(n as u32))
    }
}

impl AddAssign<usize> for SeqNumber {
    /// `seq += n`, with the same limit.
    fn add_assign(&mut self, n: usize) {
        *self = *self + n;
    }
}

impl Sub for SeqNumber {
    type Output = i32;
    /// The signed distance `self - other`, right across the wrap.
    fn sub(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
}

impl PartialOrd for SeqNumber {
    /// Serial number arithmetic (RFC 1982, as RFC 9293 compares sequence
    /// numbers): `a < b` when b lies less than 2^31 ahead of a, wrap or no
    /// wrap. Exactly 2^31 apart, neither is ahead: the two are not comparable
    /// (`None`, so `<`, `>`, `<=` and `>=` are all false).
    ///
    /// This is not a total order (so no [`Ord`]): 0 < 2^30 < 2^31 < 3 * 2^30 <
    /// 0 all hold. Compare numbers that are close, as a window's are.
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        match *self - *other {
            i32::MIN => None,
            distance => Some(distance.cmp(&0)),
        }
    }
}
// ANCHOR_END: seq_number

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The flag bits of byte 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronise sequence numbers (opens a connection).
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset: "no such connection here".
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push the data to the application.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment number is valid.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is valid.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo.
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced.
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// Whether every bit of `other` is set here.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's letters: S F R P U E W, then `.` for ACK; `[P.]` is PSH|ACK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letters = [
            (TcpFlags::SYN, 'S'),
            (TcpFlags::FIN, 'F'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::ACK, '.'),
        ];
        let mut text = String::from("[");
        for (flag, letter) in letters {
            if self.contains(flag) {
                text.push(letter);
            }
        }
        if text.len() == 1 {
            text.push_str("none");
        }
        text.push(']');
        f.write_str(&text)
    }
}

/// A read-only or writable view of a TCP segment (header and payload).
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without any check; for buffers you are about to fill.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    // ANCHOR: new_checked
    /// Wraps bytes that came from the network: [`TcpPacket::new_unchecked`],
    /// then [`TcpPacket::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Makes sure that no accessor can panic: the header fits the bytes
    /// there. Bounds only; what the values mean (ports, checksum) is
    /// [`TcpRepr::parse`]'s business. It fails when:
    /// - fewer than 20 bytes are there ([`ParseError::Truncated`]);
    /// - more than 65535 are, which the checksum cannot count
    ///   ([`ParseError::SegmentTooLong`]);
    /// - the data offset is below 5 words, so the header would end inside its
    ///   own fixed fields ([`ParseError::BadDataOffset`]);
    /// - the data offset reaches past the bytes there
    ///   ([`ParseError::DataOffsetPastEnd`]).
    ///
    /// Setting the data offset afterwards voids the check.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buffer.as_ref().len();
        if len < MIN_HEADER_LEN {
            return Err(ParseError::Truncated {
                layer: "TCP header",
                required: MIN_HEADER_LEN,
                len,
            });
        }
        if len > MAX_SEGMENT_LEN {
            return Err(ParseError::SegmentTooLong { len });
        }
        if self.header_len() < MIN_HEADER_LEN {
            return Err(ParseError::BadDataOffset(self.data_offset()));
        }
        if self.header_len() > len {
            return Err(ParseError::DataOffsetPastEnd {
                header_len: self.header_len(),
                len,
            });
        }
        Ok(())
    }
    // ANCHOR_END: new_checked

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u16_at(&self, field: field::Field) -> u16 {
        let b = &self.bytes()[field];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn u32_at(&self, field: field::Field) -> u32 {
        let b = &self.bytes()[field];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::SEQ_NUM))
    }

    /// Acknowledgment number (meaningful with ACK).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(self.u32_at(field::ACK_NUM))
    }

    // ANCHOR: data_offset
    /// Data offset: header length in 32-bit words (5 to 15).
    pub fn data_offset(&self) -> u8 {
        (self.bytes()[field::DATA_OFF] & DATA_OFFSET_MASK) >> 4
    }

    /// Header length in bytes: data offset * 4 (20 to 60).
    pub fn header_len(&self) -> usize {
        usize::from(self.data_offset()) * 4
    }
    // ANCHOR_END: data_offset

    /// The flag bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.bytes()[field::FLAGS])
    }

    /// Receive window.
    pub fn window(&self) -> u16 {
        self.u16_at(field::WINDOW)
    }

    /// The checksum as stored.
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent(&self) -> u16 {
        self.u16_at(field::URGENT)
    }

    /// Whether the stored checksum is right for a segment from `src` to `dst`.
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        checksum::verify_tcp(src, dst, self.bytes())
    }

    /// What the kernel stores when it leaves the checksum to the network card
    /// (offload), as it does for its own segments on `lo`: the folded sum of
    /// the pseudo-header alone, for a segment from `src` to `dst`.
    pub fn partial_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let length = u16::try_from(self.bytes().len())
            .expect("check_len keeps a segment within 65535 bytes");
        checksum::fold(checksum::pseudo_header(src, dst, PROTO_TCP, length))
    }

    /// The checksum a correct sender from `src` to `dst` stores for these
    /// bytes: computed with the checksum field taken as zero.
    pub fn expected_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let mut copy = TcpPacket::new_unchecked(self.bytes().to_vec());
        copy.fill_checksum(src, dst);
        copy.checksum()
    }
}

// ANCHOR: payload
impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// Options between byte 20 and the header's end, borrowed from the
    /// buffer, not from the view.
    pub fn options(&self) -> &'a [u8] {
        let header_len = self.header_len();
        &self.buffer.as_ref()[MIN_HEADER_LEN..header_len]
    }

    /// The payload: everything after the header. The slice borrows the
    /// buffer, so it outlives the view it came from: a [`TcpRepr`] parsed
    /// from a view made on the spot can keep it.
    pub fn payload(&self) -> &'a [u8] {
        let header_len = self.header_len();
        &self.buffer.as_ref()[header_len..]
    }
}
// ANCHOR_END: payload

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn set_u16(&mut self, field: field::Field, value: u16) {
        self.buffer.as_mut()[field].copy_from_slice(&value.to_be_bytes());
    }

    fn set_u32(&mut self, field: field::Field, value: u32) {
        self.buffer.as_mut()[field].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        self.set_u16(field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        self.set_u16(field::DST_PORT, port);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, seq: SeqNumber) {
        self.set_u32(field::SEQ_NUM, seq.0);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, ack: SeqNumber) {
        self.set_u32(field::ACK_NUM, ack.0);
    }

    /// Sets the data offset in words; the reserved bits become zero.
    pub fn set_data_offset(&mut self, words: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = (words << 4) & DATA_OFFSET_MASK;
    }

    /// Sets the flag bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = flags.0;
    }

    /// Sets the receive window.
    pub fn set_window(&mut self, window: u16) {
        self.set_u16(field::WINDOW, window);
    }

    /// Stores a checksum value as it is.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent(&mut self, value: u16) {
        self.set_u16(field::URGENT, value);
    }

    /// The options between byte 20 and the header's end, writable (set the data
    /// offset first).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[MIN_HEADER_LEN..end]
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Zeroes the checksum field, computes the checksum over pseudo-header,
    /// header and payload, and stores it.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = checksum::tcp_checksum(src, dst, self.buffer.as_ref());
        self.set_checksum(value);
    }
}

// ANCHOR: repr
/// The meaning of a TCP segment: its fields and a borrowed payload. Options,
/// the urgent pointer and the reserved bits are not represented:
/// [`TcpRepr::emit`] writes a 20-byte header with none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port (never 0 in a parsed repr).
    pub src_port: u16,
    /// Destination port (never 0 in a parsed repr).
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgment number: `Some` exactly when `flags` has ACK. Without
    /// ACK the field on the wire means nothing, so a repr holds none.
    pub ack_number: Option<SeqNumber>,
    /// Flag bits, ACK included.
    pub flags: TcpFlags,
    /// Receive window.
    pub window: u16,
    /// The payload.
    pub payload: &'a [u8],
}
// ANCHOR_END: repr

impl<'a> TcpRepr<'a> {
    // ANCHOR: parse
    /// Reads the meaning out of a view that passed [`TcpPacket::check_len`],
    /// for a segment from `src` to `dst`, checking what the values say. It
    /// fails when:
    /// - the source or destination port is 0 ([`ParseError::ZeroPort`]);
    /// - `check` is [`ChecksumCheck::Verify`] and the checksum is wrong
    ///   ([`ParseError::BadChecksum`]). A partial checksum (the kernel's own
    ///   segments on `lo`) is wrong too: ask for [`ChecksumCheck::Ignore`]
    ///   where those must get through.
    ///
    /// The ack number is read only when ACK is set. The payload borrows the
    /// view's buffer, not the view.
    pub fn parse(
        packet: &TcpPacket<&'a [u8]>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        check: ChecksumCheck,
    ) -> Result<TcpRepr<'a>, ParseError> {
        if packet.src_port() == 0 {
            return Err(ParseError::ZeroPort { which: "source" });
        }
        if packet.dst_port() == 0 {
            return Err(ParseError::ZeroPort {
                which: "destination",
            });
        }
        if check == ChecksumCheck::Verify && !packet.verify_checksum(src, dst) {
            return Err(ParseError::BadChecksum {
                layer: "TCP",
                stored: packet.checksum(),
                expected: packet.expected_checksum(src, dst),
            });
        }
        let flags = packet.flags();
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack_number: flags.contains(TcpFlags::ACK).then(|| packet.ack_number()),
            flags,
            window: packet.window(),
            payload: packet.payload(),
        })
    }
    // ANCHOR_END: parse

    /// Length of the header [`TcpRepr::emit`] writes: 20 bytes.
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN
    }

    /// Length of the whole segment: header and payload.
    pub fn segment_len(&self) -> usize {
        MIN_HEADER_LEN + self.payload.len()
    }

    /// How far the segment advances the sequence space: the payload's length,
    /// plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    // ANCHOR: emit
    /// Writes every field, the payload and the checksum for a segment from `src`
    /// to `dst` into `packet`, whose buffer must be exactly
    /// [`TcpRepr::segment_len`] bytes long. Without an ack number the
    /// acknowledgment field is written as 0.
    ///
    /// # Panics
    /// If the buffer's length is not [`TcpRepr::segment_len`], if it is longer
    /// than 65535 bytes, or if `flags` has ACK and there is no `ack_number`
    /// (or the other way round). Each is the caller's mistake, never the
    /// network's: received bytes go through [`TcpPacket::new_checked`] and
    /// [`TcpRepr::parse`] instead.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        assert_eq!(
            packet.buffer.as_ref().len(),
            self.segment_len(),
            "the buffer must hold exactly header + payload"
        );
        assert_eq!(
            self.flags.contains(TcpFlags::ACK),
            self.ack_number.is_some(),
            "the ACK flag is set exactly when there is an ack_number"
        );
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack_number.unwrap_or_default());
        packet.set_data_offset((MIN_HEADER_LEN / 4) as u8);
        packet.set_flags(self.flags);
        packet.set_window(self.window);
        packet.set_urgent(0);
        packet.payload_mut().copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
    // ANCHOR_END: emit

    /// Builds the segment in a new vector: header, payload, checksum.
    ///
    /// # Panics
    /// If the segment is longer than 65535 bytes (a payload above 65515 bytes),
    /// which no IPv4 packet can carry and no checksum covers.
    pub fn to_bytes(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut bytes = vec![0u8; self.segment_len()];
        self.emit(&mut TcpPacket::new_unchecked(&mut bytes[..]), src, dst);
        bytes
    }
}

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_number_add_wraps_around_2_to_the_32() {
        assert_eq!(SeqNumber(u32::MAX - 1) + 3, SeqNumber(1));
        assert_eq!(SeqNumber(u32::MAX) + 1, SeqNumber(0));
        assert_eq!(SeqNumber(1) + 12, SeqNumber(13));
        assert_eq!(SeqNumber(7) + 0, SeqNumber(7));
    }

    #[test]
    fn seq_number_difference_is_signed_across_the_wrap() {
        let before = SeqNumber(u32::MAX - 1);
        let after = SeqNumber(1);
        // 1 comes 3 bytes after 2^32 - 2, though it is numerically smaller.
        assert_eq!(after - before, 3);
        assert_eq!(before - after, -3);
        assert_eq!(SeqNumber(13) - SeqNumber(1), 12);
        assert_eq!(SeqNumber(5) - SeqNumber(5), 0);
    }

    #[test]
    fn seq_number_add_takes_steps_up_to_half_the_space() {
        let max = SeqNumber::MAX_STEP;
        assert_eq!(max, 0x7fff_ffff);
        assert_eq!(SeqNumber(0) + max, SeqNumber(0x7fff_ffff));
        assert_eq!(SeqNumber(u32::MAX) + max, SeqNumber(0x7fff_fffe));
        // The longest step still lands ahead of where it started...
        assert!(SeqNumber(5) + max > SeqNumber(5));
        assert_eq!((SeqNumber(5) + max) - SeqNumber(5), i32::MAX);
        let mut seq = SeqNumber(u32::MAX);
        seq += 2;
        assert_eq!(seq, SeqNumber(1));
    }

    #[test]
    #[should_panic(expected = "advances by at most 2^31 - 1, not 2147483648")]
    fn seq_number_add_of_half_the_space_panics() {
        // 2^31 ahead is also 2^31 behind: no answer would be right.
        let _ = SeqNumber(0) + (1usize << 31);
    }

    #[test]
    #[should_panic(expected = "advances by at most 2^31 - 1, not 4294967297")]
    fn seq_number_add_does_not_drop_the_high_bits() {
        // Truncated to 32 bits, 2^32 + 1 would be a step of 1.
        let _ = SeqNumber(0) + ((1usize << 32) + 1);
    }

    #[test]
    fn seq_numbers_compare_across_the_wrap() {
        let before_wrap = SeqNumber(u32::MAX - 1);
        let after_wrap = SeqNumber(1);
        // 1 is 3 bytes after 2^32 - 2, though it is numerically smaller.
        assert!(before_wrap < after_wrap);
        assert!(after_wrap > before_wrap);
        assert!(SeqNumber(u32::MAX) < SeqNumber(0));
        assert!(SeqNumber(0) > SeqNumber(u32::MAX));
        assert!(before_wrap <= SeqNumber(u32::MAX - 1));
        assert!(before_wrap >= SeqNumber(u32::MAX - 1));
        assert!(SeqNumber(1) < SeqNumber(13));
        // Up to 2^31 - 1 ahead is ahead, on either side of the wrap.
        for start in [0, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX - 1, u32::MAX] {
            let start = SeqNumber(start);
            let far = start + SeqNumber::MAX_STEP;
            assert!(start < far, "{start} vs {far}");
            assert!(far > start, "{far} vs {start}");
            assert_eq!(start.partial_cmp(&start), Some(Ordering::Equal));
        }
    }

    #[test]
    fn seq_numbers_half_the_space_apart_are_not_comparable() {
        for (a, b) in [(0, 0x8000_0000), (u32::MAX, 0x7fff_ffff), (7, 0x8000_0007)] {
            let (a, b) = (SeqNumber(a), SeqNumber(b));
            assert_eq!(a.partial_cmp(&b), None);
            assert_eq!(b.partial_cmp(&a), None);
            assert_eq!([a < b, a > b, a <= b, a >= b], [false; 4]);
        }
    }

    #[test]
    fn flags_display_like_tcpdump() {
        assert_eq!(TcpFlags::SYN.to_string(), "[S]");
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "[S.]");
        assert_eq!((TcpFlags::PSH | TcpFlags::ACK).to_string(), "[P.]");
        assert_eq!((TcpFlags::RST | TcpFlags::ACK).to_string(), "[R.]");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "[F.]");
        assert_eq!(TcpFlags::ACK.to_string(), "[.]");
        assert_eq!(TcpFlags::RST.to_string(), "[R]");
        assert_eq!(TcpFlags(0).to_string(), "[none]");
        assert_eq!(TcpFlags(0xff).to_string(), "[SFRPUEW.]");
    }

    #[test]
    fn flags_contains_every_bit_asked_for() {
        let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
        assert!(syn_ack.contains(TcpFlags::SYN));
        assert!(syn_ack.contains(syn_ack));
        assert!(!syn_ack.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(!TcpFlags::SYN.contains(TcpFlags::ACK));
    }

    #[test]
    fn seq_len_counts_syn_and_fin() {
        let repr = TcpRepr {
            src_port: 50001,
            dst_port: 50000,
            seq: SeqNumber(0),
            ack_number: None,
            flags: TcpFlags::SYN | TcpFlags::FIN,
            window: 0,
            payload: b"abc",
        };
        assert_eq!(repr.seq_len(), 5);
    }
}
// ANCHOR_END: tests
