//! A received packet: what one read from a raw TCP socket returns.
//!
//! [`parse_received`] is the one entry point from untrusted bytes to checked
//! IPv4 + TCP views; [`annotate_packet`] and [`annotate_segment`] print every
//! field next to its bytes; [`summary`] prints one tcpdump-style line.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::checksum::{self, PROTO_TCP};
use crate::error::ParseError;
use crate::ipv4::{self, Ipv4Packet};
use crate::tcp::{self, TcpFlags, TcpPacket, TcpRepr};

/// A checked IPv4 packet carrying a checked TCP segment. No accessor of either
/// view can panic.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The IPv4 header and what follows it, up to total length.
    pub ip: Ipv4Packet<&'a [u8]>,
    /// The TCP segment: the IPv4 payload.
    pub tcp: TcpPacket<&'a [u8]>,
}

impl<'a> Received<'a> {
    /// Source address and port.
    pub fn src(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip.src_addr(), self.tcp.src_port())
    }

    /// Destination address and port.
    pub fn dst(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.ip.dst_addr(), self.tcp.dst_port())
    }

    /// The meaning of the TCP segment.
    pub fn tcp_repr(&self) -> TcpRepr<'a> {
        TcpRepr::parse(&self.tcp)
    }

    /// The TCP checksum's state, see [`ChecksumStatus`].
    pub fn checksum_status(&self) -> ChecksumStatus {
        checksum_status(self.ip.src_addr(), self.ip.dst_addr(), self.ip.payload())
    }
}

// ANCHOR: parse_received
/// Turns the bytes of one read into checked IPv4 and TCP views.
///
/// Fails with the first problem found (see [`Ipv4Packet::new_checked`] and
/// [`TcpPacket::new_checked`]), or with [`ParseError::NotTcp`]. It does not
/// verify the TCP checksum: segments the kernel sends on `lo` carry only a
/// partial one (see [`ChecksumStatus::Partial`]).
pub fn parse_received(bytes: &[u8]) -> Result<Received<'_>, ParseError> {
    let ip = Ipv4Packet::new_checked(bytes)?;
    if ip.protocol() != PROTO_TCP {
        return Err(ParseError::NotTcp(ip.protocol()));
    }
    let header_len = ip.header_len();
    let total_len = usize::from(ip.total_len());
    let tcp = TcpPacket::new_checked(&bytes[header_len..total_len])?;
    Ok(Received { ip, tcp })
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

/// Classifies the checksum of `segment` (TCP header + payload) sent from `src`
/// to `dst`.
pub fn checksum_status(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    segment: &[u8],
) -> ChecksumStatus {
    if checksum::verify_tcp(src, dst, segment) {
        return ChecksumStatus::Correct;
    }
    let Ok(length) = u16::try_from(segment.len()) else {
        return ChecksumStatus::Wrong { expected: 0 };
    };
    let stored = if segment.len() >= tcp::field::CHECKSUM.end {
        let b = &segment[tcp::field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    } else {
        0
    };
    if stored == checksum::fold(checksum::pseudo_header(src, dst, PROTO_TCP, length))
    {
        return ChecksumStatus::Partial;
    }
    let mut copy = segment.to_vec();
    if copy.len() >= tcp::field::CHECKSUM.end {
        copy[tcp::field::CHECKSUM].fill(0);
    }
    ChecksumStatus::Wrong {
        expected: checksum::tcp_checksum(src, dst, &copy),
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
/// payload only `seq A` is shown. `ack` appears only when the ACK flag is set.
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
    if segment.flags.contains(TcpFlags::ACK) {
        let _ = write!(line, " ack {}", segment.ack);
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

impl Received<'_> {
    /// [`summary`] of this packet.
    pub fn summary(&self) -> String {
        summary(self.src(), self.dst(), &self.tcp_repr())
    }
}

/// Bytes shown per line of an annotated dump.
const BYTES_PER_LINE: usize = 8;

/// Appends one annotated line: offset, the field's bytes, what they mean. Long
/// fields continue on further lines of at most [`BYTES_PER_LINE`] bytes.
fn line(out: &mut String, offset: usize, bytes: &[u8], meaning: &str) {
    let mut first = true;
    for (i, chunk) in bytes.chunks(BYTES_PER_LINE).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let text = if first { meaning } else { "" };
        let text = format!(
            "  {:04x}  {:<width$}  {text}",
            offset + i * BYTES_PER_LINE,
            hex.join(" "),
            width = BYTES_PER_LINE * 3 - 1
        );
        let _ = writeln!(out, "{}", text.trim_end());
        first = false;
    }
    if bytes.is_empty() {
        let _ = writeln!(
            out,
            "  {offset:04x}  {:<w$}  {meaning}",
            "",
            w = BYTES_PER_LINE * 3 - 1
        );
    }
}

/// The bytes as text: printable ASCII (0x20 to 0x7e) as is, `.` for anything
/// else, one character per byte, so that a payload prints on one line and never
/// sends a terminal control sequence. The dumps use it, and so does step 4 to
/// print what it received.
pub fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// The names of the flags set, in the order of their tcpdump letters:
/// `SYN ACK` for `[S.]`.
fn flag_names(flags: TcpFlags) -> String {
    let names = [
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::ACK, "ACK"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    if set.is_empty() {
        "none".to_owned()
    } else {
        set.join(" ")
    }
}

/// Annotates TCP options one per line. Kind 0 ends the list (what follows is
/// padding), kind 1 is a single byte of padding, and every other option is
/// kind, length (counting kind and length bytes), then data. A length that does
/// not fit is reported, and the rest is shown as it is.
fn annotate_options(out: &mut String, base: usize, options: &[u8]) {
    let mut at = 0;
    while let Some(&kind) = options.get(at) {
        let rest = &options[at..];
        let (len, meaning) = match kind {
            0 => (
                rest.len(),
                "option end of list (the rest is padding)".to_owned(),
            ),
            1 => (1, "option NOP (padding)".to_owned()),
            _ => match rest.get(1).map(|&len| usize::from(len)) {
                Some(len) if (2..=rest.len()).contains(&len) => {
                    (len, option_meaning(kind, &rest[2..len]))
                }
                _ => (rest.len(), format!("option {kind} with a bad length")),
            },
        };
        line(out, base + at, &rest[..len], &meaning);
        at += len;
    }
}

/// What one TCP option (kind and its data) says.
fn option_meaning(kind: u8, data: &[u8]) -> String {
    match (kind, data) {
        (2, &[a, b]) => format!("option MSS {}", u16::from_be_bytes([a, b])),
        (3, &[shift]) => {
            format!("option window scale {shift} (windows x 2^{shift})")
        }
        (4, []) => "option SACK permitted".to_owned(),
        (8, &[a, b, c, d, e, f, g, h]) => format!(
            "option timestamps {}, echo {}",
            u32::from_be_bytes([a, b, c, d]),
            u32::from_be_bytes([e, f, g, h])
        ),
        _ => format!("option {kind}, {} bytes of data", data.len()),
    }
}

/// Annotates a TCP segment (header + payload) starting at `base` in the dump.
fn annotate_tcp(
    out: &mut String,
    base: usize,
    seg: &TcpPacket<&[u8]>,
    status: ChecksumStatus,
) {
    use tcp::field as f;
    let b = seg.into_inner();
    let _ = writeln!(out, "TCP header, {} bytes", seg.header_len());
    line(
        out,
        base + f::SRC_PORT.start,
        &b[f::SRC_PORT],
        &format!("source port {}", seg.src_port()),
    );
    line(
        out,
        base + f::DST_PORT.start,
        &b[f::DST_PORT],
        &format!("destination port {}", seg.dst_port()),
    );
    line(
        out,
        base + f::SEQ_NUM.start,
        &b[f::SEQ_NUM],
        &format!("sequence number {}", seg.seq_number()),
    );
    line(
        out,
        base + f::ACK_NUM.start,
        &b[f::ACK_NUM],
        &format!("acknowledgment number {}", seg.ack_number()),
    );
    line(
        out,
        base + f::DATA_OFF,
        &b[f::DATA_OFF..=f::DATA_OFF],
        &format!(
            "data offset {} words = {} bytes",
            seg.data_offset(),
            seg.header_len()
        ),
    );
    line(
        out,
        base + f::FLAGS,
        &b[f::FLAGS..=f::FLAGS],
        &format!("flags {} = {}", seg.flags(), flag_names(seg.flags())),
    );
    line(
        out,
        base + f::WINDOW.start,
        &b[f::WINDOW],
        &format!("window {}", seg.window()),
    );
    line(
        out,
        base + f::CHECKSUM.start,
        &b[f::CHECKSUM],
        &format!("checksum 0x{:04x} ({status})", seg.checksum()),
    );
    line(
        out,
        base + f::URGENT.start,
        &b[f::URGENT],
        &format!("urgent pointer {}", seg.urgent()),
    );
    annotate_options(out, base + tcp::MIN_HEADER_LEN, seg.options());
    let payload = seg.payload();
    let _ = writeln!(out, "payload, {} bytes", payload.len());
    for (i, chunk) in payload.chunks(BYTES_PER_LINE).enumerate() {
        let offset = base + seg.header_len() + i * BYTES_PER_LINE;
        line(out, offset, chunk, &format!("{:?}", printable(chunk)));
    }
}

/// Annotates a checked received packet: the IPv4 header field by field, then
/// the TCP header, then the payload, each byte with its offset in the buffer.
pub fn annotate_received(packet: &Received<'_>) -> String {
    use ipv4::field as f;
    let ip = &packet.ip;
    let b = ip.into_inner();
    let mut out = String::new();
    let _ = writeln!(out, "IPv4 header, {} bytes", ip.header_len());
    line(
        &mut out,
        f::VER_IHL,
        &b[f::VER_IHL..=f::VER_IHL],
        &format!(
            "version {}, IHL {} words = {} bytes",
            ip.version(),
            ip.ihl(),
            ip.header_len()
        ),
    );
    line(
        &mut out,
        f::DSCP_ECN,
        &b[f::DSCP_ECN..=f::DSCP_ECN],
        &format!("DSCP/ECN {}", ip.dscp_ecn()),
    );
    line(
        &mut out,
        f::TOTAL_LEN.start,
        &b[f::TOTAL_LEN],
        &format!("total length {}", ip.total_len()),
    );
    line(
        &mut out,
        f::IDENT.start,
        &b[f::IDENT],
        &format!("identification {}", ip.ident()),
    );
    let frag = ip.flags_frag();
    let flags = match (frag & ipv4::FLAG_DF != 0, frag & ipv4::FLAG_MF != 0) {
        (true, true) => "DF MF",
        (true, false) => "DF (don't fragment)",
        (false, true) => "MF (more fragments)",
        (false, false) => "none",
    };
    line(
        &mut out,
        f::FLAGS_FRAG.start,
        &b[f::FLAGS_FRAG],
        &format!("flags {flags}, fragment offset {}", frag & 0x1fff),
    );
    line(
        &mut out,
        f::TTL,
        &b[f::TTL..=f::TTL],
        &format!("TTL {}", ip.ttl()),
    );
    line(
        &mut out,
        f::PROTOCOL,
        &b[f::PROTOCOL..=f::PROTOCOL],
        &format!("protocol {} (TCP)", ip.protocol()),
    );
    let ok = if ip.verify_checksum() {
        "correct"
    } else {
        "WRONG"
    };
    line(
        &mut out,
        f::CHECKSUM.start,
        &b[f::CHECKSUM],
        &format!("header checksum 0x{:04x} ({ok})", ip.checksum()),
    );
    line(
        &mut out,
        f::SRC_ADDR.start,
        &b[f::SRC_ADDR],
        &format!("source {}", ip.src_addr()),
    );
    line(
        &mut out,
        f::DST_ADDR.start,
        &b[f::DST_ADDR],
        &format!("destination {}", ip.dst_addr()),
    );
    if !ip.options().is_empty() {
        let n = ip.options().len();
        line(
            &mut out,
            ipv4::MIN_HEADER_LEN,
            ip.options(),
            &format!("options, {n} bytes"),
        );
    }
    annotate_tcp(
        &mut out,
        ip.header_len(),
        &packet.tcp,
        packet.checksum_status(),
    );
    out
}

/// Annotates the bytes of one read: a checked packet field by field, or the
/// reason it was rejected followed by a plain hex dump.
pub fn annotate_packet(bytes: &[u8]) -> String {
    match parse_received(bytes) {
        Ok(packet) => annotate_received(&packet),
        Err(error) => {
            let mut out = format!("not a well-formed IPv4 + TCP packet: {error}\n");
            for (i, chunk) in bytes.chunks(BYTES_PER_LINE).enumerate() {
                line(&mut out, i * BYTES_PER_LINE, chunk, "");
            }
            out
        }
    }
}

/// Annotates a TCP segment as a program writes it (no IPv4 header: the kernel
/// adds that), with its checksum checked for `src` to `dst`.
///
/// Fails if the bytes are not a well-formed TCP segment.
pub fn annotate_segment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    segment: &[u8],
) -> Result<String, ParseError> {
    let view = TcpPacket::new_checked(segment)?;
    let mut out = String::new();
    annotate_tcp(&mut out, 0, &view, checksum_status(src, dst, segment));
    Ok(out)
}
