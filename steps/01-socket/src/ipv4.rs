//! The IPv4 header (RFC 791), as a raw socket's read returns it in front of
//! every TCP segment.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------+-------+---------------+-------------------------------+
//! |Version|  IHL  |   DSCP/ECN    |          Total Length         |  0
//! +-------+-------+---------------+-----+-------------------------+
//! |        Identification         |Flags|     Fragment Offset     |  4
//! +---------------+---------------+-----+-------------------------+
//! |      TTL      |   Protocol    |        Header Checksum        |  8
//! +---------------+---------------+-------------------------------+
//! |                        Source Address                         | 12
//! +---------------------------------------------------------------+
//! |                      Destination Address                      | 16
//! +---------------------------------------------------------------+
//! |            Options (IHL > 5), up to 40 bytes                  | 20
//! +---------------------------------------------------------------+
//! ```
//!
//! [`Ipv4Packet`] is a view over bytes: its accessors read the fields where they
//! are, and [`Ipv4Packet::check_len`] makes sure they all can. [`Ipv4Repr`] is
//! the plain meaning of a header, parsed from a view (where the values are
//! checked: version 4, no fragment) or emitted into one.

use std::fmt;
use std::net::Ipv4Addr;

use crate::checksum::{self, ChecksumCheck};
use crate::error::ParseError;

// ANCHOR: field
/// Byte ranges of the header's fields, named after RFC 791.
pub mod field {
    /// A field's byte range.
    pub type Field = std::ops::Range<usize>;
    /// Version (high nibble) and IHL (low nibble).
    pub const VER_IHL: usize = 0;
    /// Differentiated services code point and ECN.
    pub const DSCP_ECN: usize = 1;
    /// Length of the whole packet, header included.
    pub const TOTAL_LEN: Field = 2..4;
    /// Identification, used to reassemble fragments.
    pub const IDENT: Field = 4..6;
    /// Flags (3 bits: reserved, DF, MF) and fragment offset (13 bits, in 8 bytes).
    pub const FLAGS_FRAG: Field = 6..8;
    /// Time to live.
    pub const TTL: usize = 8;
    /// Protocol of the payload (6 = TCP).
    pub const PROTOCOL: usize = 9;
    /// Checksum over the header alone.
    pub const CHECKSUM: Field = 10..12;
    /// Source address.
    pub const SRC_ADDR: Field = 12..16;
    /// Destination address.
    pub const DST_ADDR: Field = 16..20;
}

/// Length of a header without options: derived from the last field, not typed in.
pub const MIN_HEADER_LEN: usize = field::DST_ADDR.end;
// ANCHOR_END: field

// ANCHOR: masks
/// The version, the high nibble of byte 0.
pub const VERSION_MASK: u8 = 0xf0;
/// The IHL (header length in 32-bit words), the low nibble of byte 0.
pub const IHL_MASK: u8 = 0x0f;
/// The only version [`Ipv4Repr::parse`] accepts.
pub const VERSION: u8 = 4;
/// The "don't fragment" flag, in the 16 bits of [`field::FLAGS_FRAG`].
pub const FLAG_DF: u16 = 0x4000;
/// The "more fragments" flag: more pieces of this packet follow.
pub const FLAG_MF: u16 = 0x2000;
/// The fragment offset: where this piece goes, in units of 8 bytes.
pub const FRAG_OFFSET_MASK: u16 = 0x1fff;
/// What makes a packet a fragment: MF set, or a non-zero offset. Either one
/// means it is a piece of a larger packet, whose TCP header may be in another
/// piece. [`Ipv4Repr::parse`] refuses these packets, and step 5's filter
/// tests the same bits.
pub const FRAGMENT_MASK: u16 = FLAG_MF | FRAG_OFFSET_MASK;
// ANCHOR_END: masks

/// A read-only or writable view of an IPv4 packet in a byte buffer.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without any check. Accessors may panic on short buffers;
    /// use it only for buffers you are about to fill.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    // ANCHOR: new_checked
    /// Wraps bytes that came from the network: [`Ipv4Packet::new_unchecked`],
    /// then [`Ipv4Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Makes sure that no accessor can panic: every length the header states
    /// fits the bytes there. It checks bounds only; what the values mean
    /// (version 4, fragments) is [`Ipv4Repr::parse`]'s business. It fails when:
    /// - fewer than 20 bytes are there ([`ParseError::Truncated`]);
    /// - IHL is below 5 words, so the header would end inside its own fixed
    ///   fields ([`ParseError::BadIhl`]);
    /// - the header (IHL) is longer than the bytes there
    ///   ([`ParseError::Truncated`]);
    /// - total length is below the header length ([`ParseError::BadTotalLen`])
    ///   or beyond the bytes there ([`ParseError::TotalLenPastEnd`]).
    ///
    /// Bytes beyond total length are ignored by [`Ipv4Packet::payload`].
    /// Setting the IHL or total length afterwards voids the check.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buffer.as_ref().len();
        if len < MIN_HEADER_LEN {
            return Err(ParseError::Truncated {
                layer: "IPv4 header",
                required: MIN_HEADER_LEN,
                len,
            });
        }
        if self.header_len() < MIN_HEADER_LEN {
            return Err(ParseError::BadIhl(self.ihl()));
        }
        if self.header_len() > len {
            return Err(ParseError::Truncated {
                layer: "IPv4 header with options",
                required: self.header_len(),
                len,
            });
        }
        let total = usize::from(self.total_len());
        if total < self.header_len() {
            return Err(ParseError::BadTotalLen {
                total_len: self.total_len(),
                header_len: self.header_len(),
            });
        }
        if total > len {
            return Err(ParseError::TotalLenPastEnd {
                total_len: self.total_len(),
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

    /// IP version: 4 for IPv4 (whatever the bytes say; see [`VERSION`]).
    pub fn version(&self) -> u8 {
        (self.bytes()[field::VER_IHL] & VERSION_MASK) >> 4
    }

    // ANCHOR: ihl
    /// Internet header length in 32-bit words (5 to 15).
    pub fn ihl(&self) -> u8 {
        self.bytes()[field::VER_IHL] & IHL_MASK
    }

    /// Header length in bytes: IHL * 4 (20 to 60).
    pub fn header_len(&self) -> usize {
        usize::from(self.ihl()) * 4
    }
    // ANCHOR_END: ihl

    /// The DSCP/ECN byte.
    pub fn dscp_ecn(&self) -> u8 {
        self.bytes()[field::DSCP_ECN]
    }

    /// Length of the whole packet in bytes, header included.
    pub fn total_len(&self) -> u16 {
        self.u16_at(field::TOTAL_LEN)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }

    /// Flags and fragment offset as stored (see [`FLAG_DF`], [`FLAG_MF`]).
    pub fn flags_frag(&self) -> u16 {
        self.u16_at(field::FLAGS_FRAG)
    }

    /// Whether the "don't fragment" flag is set.
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// Whether the "more fragments" flag is set.
    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// The fragment offset, in units of 8 bytes (0 for a whole packet).
    pub fn frag_offset(&self) -> u16 {
        self.flags_frag() & FRAG_OFFSET_MASK
    }

    /// Whether this packet is a fragment (MF set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & FRAGMENT_MASK != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.bytes()[field::TTL]
    }

    /// Protocol of the payload (6 for TCP).
    pub fn protocol(&self) -> u8 {
        self.bytes()[field::PROTOCOL]
    }

    /// The header checksum as stored.
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// Whether the header checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(&self.bytes()[..self.header_len()])) == 0xffff
    }

    /// The header checksum a correct sender stores for this header: computed
    /// with the checksum field taken as zero.
    pub fn expected_checksum(&self) -> u16 {
        let mut header = self.bytes()[..self.header_len()].to_vec();
        header[field::CHECKSUM].fill(0);
        checksum::ipv4_header_checksum(&header)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.bytes()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.bytes()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
}

// ANCHOR: payload
impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The options between byte 20 and the header's end (empty when IHL is
    /// 5), borrowed from the buffer, not from the view.
    pub fn options(&self) -> &'a [u8] {
        let header_len = self.header_len();
        &self.buffer.as_ref()[MIN_HEADER_LEN..header_len]
    }

    /// What the header carries: from the header's end to total length. The
    /// slice borrows the buffer, so it outlives the view it came from.
    pub fn payload(&self) -> &'a [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }
}
// ANCHOR_END: payload

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set_u16(&mut self, field: field::Field, value: u16) {
        self.buffer.as_mut()[field].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets version 4 and the header length in 32-bit words.
    pub fn set_version_ihl(&mut self, ihl: u8) {
        self.buffer.as_mut()[field::VER_IHL] = (VERSION << 4) | (ihl & IHL_MASK);
    }

    /// Sets the DSCP/ECN byte.
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value;
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, value: u16) {
        self.set_u16(field::TOTAL_LEN, value);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, value: u16) {
        self.set_u16(field::IDENT, value);
    }

    /// Sets flags and fragment offset.
    pub fn set_flags_frag(&mut self, value: u16) {
        self.set_u16(field::FLAGS_FRAG, value);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    /// Stores a checksum value as it is.
    pub fn set_checksum(&mut self, value: u16) {
        self.set_u16(field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Zeroes the checksum field, sums the header and stores the complement.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let value =
            checksum::ipv4_header_checksum(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(value);
    }
}

/// The meaning of an IPv4 header, without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Identification.
    pub ident: u16,
    /// Time to live.
    pub ttl: u8,
    /// Length of the payload in bytes.
    pub payload_len: usize,
}

impl Ipv4Repr {
    // ANCHOR: parse
    /// Reads the meaning out of a view that passed [`Ipv4Packet::check_len`]
    /// (options are skipped), checking what the values say. It fails when:
    /// - the version is not 4 ([`ParseError::BadVersion`]);
    /// - `check` is [`ChecksumCheck::Verify`] and the header checksum is wrong
    ///   ([`ParseError::BadChecksum`]);
    /// - the packet is a fragment, MF set or a non-zero offset
    ///   ([`ParseError::Fragment`]): nothing here reassembles, and a piece
    ///   may not even hold the TCP ports. Step 5's filter refuses the same
    ///   packets, by the same [`FRAGMENT_MASK`].
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Ipv4Packet<T>,
        check: ChecksumCheck,
    ) -> Result<Ipv4Repr, ParseError> {
        if packet.version() != VERSION {
            return Err(ParseError::BadVersion(packet.version()));
        }
        if check == ChecksumCheck::Verify && !packet.verify_checksum() {
            return Err(ParseError::BadChecksum {
                layer: "IPv4 header",
                stored: packet.checksum(),
                expected: packet.expected_checksum(),
            });
        }
        if packet.is_fragment() {
            return Err(ParseError::Fragment {
                more_fragments: packet.more_frags(),
                offset: packet.frag_offset(),
            });
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            ident: packet.ident(),
            ttl: packet.ttl(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }
    // ANCHOR_END: parse

    /// Length of the header [`Ipv4Repr::emit`] writes: 20 bytes, no options.
    pub fn header_len(&self) -> usize {
        MIN_HEADER_LEN
    }

    /// Writes every field of a 20-byte header (DF set, checksum filled) into the
    /// front of `packet`.
    ///
    /// # Panics
    /// If header plus payload exceed 65535 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total = u16::try_from(MIN_HEADER_LEN + self.payload_len)
            .expect("an IPv4 packet is at most 65535 bytes");
        packet.set_version_ihl(5);
        packet.set_dscp_ecn(0);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_frag(FLAG_DF);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IPv4 {} > {} proto {} id {} ttl {} len {}",
            self.src_addr,
            self.dst_addr,
            self.protocol,
            self.ident,
            self.ttl,
            self.payload_len
        )
    }
}
