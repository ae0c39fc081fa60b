//! A TCP segment as the connection sees it: who sends it to whom, the fields
//! TCP acts on, the options decoded, and the payload.
//!
//! Step 1's views and checksum do the byte work: [`Segment::from_received`]
//! reads a checked packet, [`Segment::to_bytes`] writes every field, the
//! options and the checksum through a `TcpPacket`. Unlike the echo's 20-byte
//! segments, ours may carry options (the MSS, in a SYN), so the data offset is
//! computed, not fixed.

use std::fmt;
use std::net::SocketAddrV4;

use step_01_socket::tcp::MIN_HEADER_LEN;
use step_01_socket::{Received, SeqNumber, TcpFlags, TcpPacket};

use crate::options::{self, OptionError, TcpOption};

// ANCHOR: segment
/// One segment's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Sender's address and port.
    pub src: SocketAddrV4,
    /// Receiver's address and port.
    pub dst: SocketAddrV4,
    /// Sequence number: of the SYN, or of the first payload byte.
    pub seq: SeqNumber,
    /// The acknowledgment number, present exactly when the ACK flag is set.
    pub ack: Option<SeqNumber>,
    /// Every flag bit, ACK included.
    pub flags: TcpFlags,
    /// The receive window the sender announces.
    pub window: u16,
    /// The options, decoded.
    pub options: Vec<TcpOption>,
    /// The data.
    pub payload: Vec<u8>,
}
// ANCHOR_END: segment

impl Segment {
    /// A segment with these control bits (`flags`, without ACK: the ACK flag
    /// is set exactly when `ack` is given), no options, no payload.
    pub fn new(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: SeqNumber,
        ack: Option<SeqNumber>,
        flags: TcpFlags,
        window: u16,
    ) -> Segment {
        let flags = match ack {
            Some(_) => flags | TcpFlags::ACK,
            None => TcpFlags(flags.0 & !TcpFlags::ACK.0),
        };
        Segment {
            src,
            dst,
            seq,
            ack,
            flags,
            window,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// Reads a checked packet (see step 1's `parse_received`), with the
    /// problems its options had, if any.
    pub fn from_received(packet: &Received<'_>) -> (Segment, Vec<OptionError>) {
        let tcp = &packet.tcp;
        let flags = tcp.flags();
        let parsed = options::parse(tcp.options());
        let segment = Segment {
            src: packet.src(),
            dst: packet.dst(),
            seq: tcp.seq_number(),
            ack: flags.contains(TcpFlags::ACK).then(|| tcp.ack_number()),
            flags,
            window: tcp.window(),
            options: parsed.options,
            payload: tcp.payload().to_vec(),
        };
        (segment, parsed.errors)
    }

    /// Whether the segment carries `flag`.
    pub fn has(&self, flag: TcpFlags) -> bool {
        self.flags.contains(flag)
    }

    /// How much sequence space the segment takes: its payload, plus one for a
    /// SYN and one for a FIN (RFC 9293's SEG.LEN).
    pub fn seq_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.has(TcpFlags::SYN))
            + usize::from(self.has(TcpFlags::FIN))
    }

    /// The MSS option's value, if the segment has one.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|option| match option {
            TcpOption::Mss(mss) => Some(*mss),
            _ => None,
        })
    }

    // ANCHOR: to_bytes
    /// The bytes to write: header (options padded to whole words), payload,
    /// and the checksum over pseudo-header, header and payload.
    ///
    /// # Panics
    /// If the options take more than 40 bytes, or the segment more than 65535
    /// bytes: mistakes of the caller (ours), never of the network.
    pub fn to_bytes(&self) -> Vec<u8> {
        let options = options::emit(&self.options);
        assert!(options.len() <= 40, "TCP options fit in 40 bytes");
        let header_len = MIN_HEADER_LEN + options.len();
        let mut bytes = vec![0u8; header_len + self.payload.len()];
        let mut packet = TcpPacket::new_unchecked(&mut bytes[..]);
        packet.set_src_port(self.src.port());
        packet.set_dst_port(self.dst.port());
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack.unwrap_or_default());
        // The data offset first: the options and the payload are found by it.
        packet.set_data_offset((header_len / 4) as u8);
        packet.set_flags(self.flags);
        packet.set_window(self.window);
        packet.set_urgent(0);
        packet.options_mut().copy_from_slice(&options);
        packet.payload_mut().copy_from_slice(&self.payload);
        packet.fill_checksum(*self.src.ip(), *self.dst.ip());
        bytes
    }
    // ANCHOR_END: to_bytes

    /// The segment's line with its sequence numbers shown relative to the two
    /// initial sequence numbers, as tcpdump and Wireshark show them: see
    /// [`Line`].
    pub fn line(
        &self,
        seq_base: Option<SeqNumber>,
        ack_base: Option<SeqNumber>,
    ) -> Line<'_> {
        Line {
            segment: self,
            seq_base,
            ack_base,
        }
    }
}

/// One line for a segment: `127.0.0.2:50001 > 127.0.0.1:50000 [S.] seq 0
/// ack 1 win 65535 len 0 options [mss 1460]`.
///
/// Initial sequence numbers are chosen at random for each connection (the
/// kernel's always are), so absolute numbers differ from run to run. Counted
/// from the sender's initial sequence number (`seq_base`) and the receiver's
/// (`ack_base`), the SYN is `seq 0` and the first data byte `seq 1`; a base
/// not known yet shows the number as it is.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    segment: &'a Segment,
    seq_base: Option<SeqNumber>,
    ack_base: Option<SeqNumber>,
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.segment;
        let relative = |n: SeqNumber, base: Option<SeqNumber>| match base {
            Some(base) => SeqNumber((n - base) as u32),
            None => n,
        };
        let seq = relative(s.seq, self.seq_base);
        write!(f, "{} > {} {} seq {seq}", s.src, s.dst, s.flags)?;
        if !s.payload.is_empty() {
            write!(f, ":{}", seq + s.payload.len())?;
        }
        if let Some(ack) = s.ack {
            write!(f, " ack {}", relative(ack, self.ack_base))?;
        }
        write!(f, " win {} len {}", s.window, s.payload.len())?;
        if !s.options.is_empty() {
            write!(f, " options [{}]", options::list(&s.options))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use step_01_socket::parse_received;
    use testkit::with_ipv4_header;

    use super::*;

    const A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50001);
    const B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 50000);

    fn syn() -> Segment {
        let mut syn =
            Segment::new(A, B, SeqNumber(1000), None, TcpFlags::SYN, 65535);
        syn.options.push(TcpOption::Mss(1460));
        syn
    }

    #[test]
    fn a_syn_with_mss_is_24_bytes_with_data_offset_6() {
        let bytes = syn().to_bytes();
        assert_eq!(bytes.len(), 24);
        let view = TcpPacket::new_checked(&bytes[..]).expect("well formed");
        assert_eq!(view.data_offset(), 6);
        assert_eq!(view.options(), [0x02, 0x04, 0x05, 0xb4]);
        assert_eq!(view.ack_number(), SeqNumber(0), "no ACK: the field is 0");
        assert!(view.verify_checksum(*A.ip(), *B.ip()));
    }

    #[test]
    fn a_segment_reads_back_as_it_was_written() {
        let mut data = Segment::new(
            B,
            A,
            SeqNumber(u32::MAX - 3),
            Some(SeqNumber(1001)),
            TcpFlags::PSH,
            512,
        );
        data.payload = b"Hello client".to_vec();
        for segment in [syn(), data] {
            let bytes = with_ipv4_header(
                *segment.src.ip(),
                *segment.dst.ip(),
                1,
                &segment.to_bytes(),
            );
            let packet = parse_received(&bytes).expect("parses");
            let (read, errors) = Segment::from_received(&packet);
            assert_eq!(errors, []);
            assert_eq!(read, segment);
        }
    }

    #[test]
    fn ack_flag_and_ack_number_go_together() {
        let with =
            Segment::new(A, B, SeqNumber(1), Some(SeqNumber(7)), TcpFlags::SYN, 0);
        assert!(with.has(TcpFlags::ACK) && with.has(TcpFlags::SYN));
        let without = Segment::new(A, B, SeqNumber(1), None, TcpFlags::ACK, 0);
        assert!(!without.has(TcpFlags::ACK));
    }

    #[test]
    fn seq_len_counts_syn_fin_and_payload() {
        assert_eq!(syn().seq_len(), 1);
        let mut fin =
            Segment::new(A, B, SeqNumber(1), Some(SeqNumber(1)), TcpFlags::FIN, 0);
        fin.payload = b"abc".to_vec();
        assert_eq!(fin.seq_len(), 4);
    }

    #[test]
    fn lines_count_from_the_initial_sequence_numbers() {
        let segment = syn();
        assert_eq!(
            segment.line(Some(SeqNumber(1000)), None).to_string(),
            "127.0.0.2:50001 > 127.0.0.1:50000 [S] seq 0 win 65535 len 0 options [mss 1460]"
        );
        assert_eq!(
            segment.line(None, None).to_string(),
            "127.0.0.2:50001 > 127.0.0.1:50000 [S] seq 1000 win 65535 len 0 options [mss 1460]"
        );
        // Across the wrap: the base is just below 2^32.
        let mut data = Segment::new(
            B,
            A,
            SeqNumber(2),
            Some(SeqNumber(1013)),
            TcpFlags::PSH,
            512,
        );
        data.payload = b"Hello client".to_vec();
        let line = data.line(Some(SeqNumber(u32::MAX - 2)), Some(SeqNumber(1000)));
        assert_eq!(
            line.to_string(),
            "127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 5:17 ack 13 win 512 len 12"
        );
    }
}
