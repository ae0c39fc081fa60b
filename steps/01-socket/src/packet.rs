//! A received packet: what one read from a raw TCP socket returns.
//!
//! [`parse_received`] is the one entry point from untrusted bytes to checked
//! IPv4 + TCP views and their meaning; [`checksum_status`] tells the TCP
//! checksum's three states apart; [`summary`] prints one tcpdump-style line.
//! The field-by-field dump is in [`crate::dump`].

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::checksum::{ChecksumCheck, PROTO_TCP};
use crate::error::ParseError;
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::tcp::{TcpPacket, TcpRepr};

/// A checked IPv4 packet carrying a checked TCP segment, with the meaning of
/// both. No accessor of either view can panic.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The IPv4 header and what follows it, up to total length.
    pub ip: Ipv4Packet<&'a [u8]>,
    /// The TCP segment: the IPv4 payload.
    pub tcp: TcpPacket<&'a [u8]>,
    ip_repr: Ipv4Repr,
    tcp_repr: TcpRepr<'a>,
}

impl<'a> Received<'a> {
    /// Source address and port.
    pub fn src(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip_repr.src_addr, self.tcp_repr.src_port)
    }

    /// Destination address and port.
    pub fn dst(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip_repr.dst_addr, self.tcp_repr.dst_port)
    }

    /// The meaning of the IPv4 header.
    pub fn ip_repr(&self) -> Ipv4Repr {
        self.ip_repr
    }

    /// The meaning of the TCP segment; its payload borrows the read's buffer.
    pub fn tcp_repr(&self) -> TcpRepr<'a> {
        self.tcp_repr
    }

    /// The TCP checksum's state, see [`ChecksumStatus`].
    pub fn checksum_status(&self) -> ChecksumStatus {
        checksum_status(self.ip_repr.src_addr, self.ip_repr.dst_addr, &self.tcp)
    }

    /// [`summary`] of this packet.
    pub fn summary(&self) -> String {
        summary(self.src(), self.dst(), &self.tcp_repr)
    }
}

// ANCHOR: parse_received
/// Turns the bytes of one read into checked IPv4 and TCP views and reprs.
///
/// Fails with the first problem found: a length that does not fit
/// ([`Ipv4Packet::check_len`], [`TcpPacket::check_len`]), a value refused by
/// [`Ipv4Repr::parse`] (version, fragment) or [`TcpRepr::parse`] (port 0),
/// or [`ParseError::NotTcp`].
///
/// It verifies neither checksum. The kernel checked the IPv4 header's before
/// any raw socket saw the packet, and the TCP one is left to the caller
/// ([`Received::checksum_status`]): segments the kernel sends on `lo` carry
/// only a partial one, and a receive path that rejected them would be blind
/// to the kernel's own SYNs.
pub fn parse_received(bytes: &[u8]) -> Result<Received<'_>, ParseError> {
    let ip = Ipv4Packet::new_checked(bytes)?;
    let ip_repr = Ipv4Repr::parse(&ip, ChecksumCheck::Ignore)?;
    if ip_repr.protocol != PROTO_TCP {
        return Err(ParseError::NotTcp(ip_repr.protocol));
    }
    let tcp = TcpPacket::new_checked(ip.payload())?;
    let (src, dst) = (ip_repr.src_addr, ip_repr.dst_addr);
    let tcp_repr = TcpRepr::parse(&tcp, src, dst, ChecksumCheck::Ignore)?;
    Ok(Received {
        ip,
        tcp,
        ip_repr,
        tcp_repr,
    })
}
// ANCHOR_END: parse_received

// ANCHOR: checksum_status
/// What the TCP checksum field of a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The checksum verifies.
    Correct,
    /// Only the pseudo-header's folded sum is stored: the kernel left the rest
    /// to the network card ("checksum offload"), and `lo` never computes it.
    /// Normal for segments the kernel itself sends on `lo`.
    Partial,
    /// Neither: the segment is damaged, or its sender got the sum wrong.
    Wrong {
        /// The value a correct sender would have stored.
        expected: u16,
    },
}

/// Classifies the checksum of a checked `segment` sent from `src` to `dst`.
pub fn checksum_status(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    segment: &TcpPacket<&[u8]>,
) -> ChecksumStatus {
    if segment.verify_checksum(src, dst) {
        ChecksumStatus::Correct
    } else if segment.checksum() == segment.partial_checksum(src, dst) {
        ChecksumStatus::Partial
    } else {
        ChecksumStatus::Wrong {
            expected: segment.expected_checksum(src, dst),
        }
    }
}
// ANCHOR_END: checksum_status

impl std::fmt::Display for ChecksumStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChecksumStatus::Correct => f.write_str("correct"),
            ChecksumStatus::Partial => {
                f.write_str("partial, pseudo-header only: checksum offload on lo")
            }
            ChecksumStatus::Wrong { expected } => {
                write!(f, "WRONG, expected 0x{expected:04x}")
            }
        }
    }
}

// ANCHOR: summary
/// One line in tcpdump's spirit:
/// `TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12`.
///
/// `seq A:B` is the range of sequence numbers the payload occupies; with no
/// payload only `seq A` is shown. `ack` appears only when there is an ack
/// number, which is when the ACK flag is set.
pub fn summary(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    segment: &TcpRepr<'_>,
) -> String {
    let mut line = format!("TCP {src} > {dst} {}", segment.flags);
    if segment.payload.is_empty() {
        let _ = write!(line, " seq {}", segment.seq);
    } else {
        let end = segment.seq + segment.payload.len();
        let _ = write!(line, " seq {}:{}", segment.seq, end);
    }
    if let Some(ack) = segment.ack_number {
        let _ = write!(line, " ack {ack}");
    }
    let _ = write!(
        line,
        " win {} len {}",
        segment.window,
        segment.payload.len()
    );
    line
}
// ANCHOR_END: summary

/// [`summary`] of a TCP segment as a program writes it (no IPv4 header), from
/// `src` to `dst`: the bytes are checked and parsed first, with `check`
/// deciding whether a wrong checksum is an error.
pub fn segment_summary(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    segment: &[u8],
    check: ChecksumCheck,
) -> Result<String, ParseError> {
    let view = TcpPacket::new_checked(segment)?;
    let repr = TcpRepr::parse(&view, *src.ip(), *dst.ip(), check)?;
    Ok(summary(src, dst, &repr))
}
