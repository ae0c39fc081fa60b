//! The annotated dump: every field of a packet next to its bytes, at its
//! offset in the read.
//!
//! Each header is one table, [`IPV4_FIELDS`] and [`TCP_FIELDS`]: a row per
//! field, with its name, its bytes (offset and width, from the header's
//! `field` module) and how to show what it holds. The code that prints a
//! header walks its table; options and payload, whose length varies, follow.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::ops::Range;

use crate::error::ParseError;
use crate::ipv4::{self, Ipv4Packet};
use crate::packet::{ChecksumStatus, Received, checksum_status, parse_received};
use crate::tcp::{self, TcpFlags, TcpPacket};

// ANCHOR: row
/// One field of a header as the dump shows it: a line with its offset, its
/// bytes, then `name` and what `show` makes of the header.
pub struct Row<V> {
    /// The field's name, first in the line's text.
    pub name: &'static str,
    /// The field's bytes in its header: the offset and the width.
    pub bytes: Range<usize>,
    /// What the field holds, as text after the name.
    pub show: V,
}

/// The one byte at `at`, as a row's range.
const fn byte(at: usize) -> Range<usize> {
    at..at + 1
}
// ANCHOR_END: row

/// How an IPv4 row shows its field, given the header.
pub type ShowIpv4 = fn(&Ipv4Packet<&[u8]>) -> String;

// ANCHOR: ipv4_fields
/// The fixed IPv4 header, field by field.
pub const IPV4_FIELDS: [Row<ShowIpv4>; 10] = {
    use ipv4::field::*;
    [
        Row {
            name: "version",
            bytes: byte(VER_IHL),
            show: |ip| {
                let (version, ihl, len) = (ip.version(), ip.ihl(), ip.header_len());
                format!("{version}, IHL {ihl} words = {len} bytes")
            },
        },
        Row {
            name: "DSCP/ECN",
            bytes: byte(DSCP_ECN),
            show: |ip| ip.dscp_ecn().to_string(),
        },
        Row {
            name: "total length",
            bytes: TOTAL_LEN,
            show: |ip| ip.total_len().to_string(),
        },
        Row {
            name: "identification",
            bytes: IDENT,
            show: |ip| ip.ident().to_string(),
        },
        Row {
            name: "flags",
            bytes: FLAGS_FRAG,
            show: |ip| {
                let flags = match (ip.dont_frag(), ip.more_frags()) {
                    (true, true) => "DF MF",
                    (true, false) => "DF (don't fragment)",
                    (false, true) => "MF (more fragments)",
                    (false, false) => "none",
                };
                format!("{flags}, fragment offset {}", ip.frag_offset())
            },
        },
        Row {
            name: "TTL",
            bytes: byte(TTL),
            show: |ip| ip.ttl().to_string(),
        },
        Row {
            name: "protocol",
            bytes: byte(PROTOCOL),
            show: |ip| format!("{} (TCP)", ip.protocol()),
        },
        Row {
            name: "header checksum",
            bytes: CHECKSUM,
            show: |ip| {
                let ok = if ip.verify_checksum() {
                    "correct"
                } else {
                    "WRONG"
                };
                format!("0x{:04x} ({ok})", ip.checksum())
            },
        },
        Row {
            name: "source",
            bytes: SRC_ADDR,
            show: |ip| ip.src_addr().to_string(),
        },
        Row {
            name: "destination",
            bytes: DST_ADDR,
            show: |ip| ip.dst_addr().to_string(),
        },
    ]
};
// ANCHOR_END: ipv4_fields

/// A TCP segment with its checksum's state: what a TCP row shows.
pub struct Segment<'a> {
    /// The checked segment.
    pub view: TcpPacket<&'a [u8]>,
    /// Its checksum, judged for the addresses it travels between.
    pub status: ChecksumStatus,
}

/// How a TCP row shows its field, given the segment.
pub type ShowTcp = fn(&Segment<'_>) -> String;

// ANCHOR: tcp_fields
/// The fixed TCP header, field by field.
pub const TCP_FIELDS: [Row<ShowTcp>; 9] = {
    use tcp::field::*;
    [
        Row {
            name: "source port",
            bytes: SRC_PORT,
            show: |s| s.view.src_port().to_string(),
        },
        Row {
            name: "destination port",
            bytes: DST_PORT,
            show: |s| s.view.dst_port().to_string(),
        },
        Row {
            name: "sequence number",
            bytes: SEQ_NUM,
            show: |s| s.view.seq_number().to_string(),
        },
        Row {
            name: "acknowledgment number",
            bytes: ACK_NUM,
            show: |s| s.view.ack_number().to_string(),
        },
        Row {
            name: "data offset",
            bytes: byte(DATA_OFF),
            show: |s| {
                let (words, len) = (s.view.data_offset(), s.view.header_len());
                format!("{words} words = {len} bytes")
            },
        },
        Row {
            name: "flags",
            bytes: byte(FLAGS),
            show: |s| format!("{} = {}", s.view.flags(), flag_names(s.view.flags())),
        },
        Row {
            name: "window",
            bytes: WINDOW,
            show: |s| s.view.window().to_string(),
        },
        Row {
            name: "checksum",
            bytes: CHECKSUM,
            show: |s| format!("0x{:04x} ({})", s.view.checksum(), s.status),
        },
        Row {
            name: "urgent pointer",
            bytes: URGENT,
            show: |s| s.view.urgent().to_string(),
        },
    ]
};
// ANCHOR_END: tcp_fields

// ANCHOR: rows
/// Appends a line per row of `table`: the field's bytes from `header` (which
/// starts at `base` in the dump), its name, and what `show` makes of the row's
/// way of showing it (the header's view handed to the row's function).
fn rows<S>(
    out: &mut String,
    base: usize,
    header: &[u8],
    table: &[Row<S>],
    show: impl Fn(&S) -> String,
) {
    for row in table {
        let meaning = format!("{} {}", row.name, show(&row.show));
        line(
            out,
            base + row.bytes.start,
            &header[row.bytes.clone()],
            &meaning,
        );
    }
}
// ANCHOR_END: rows

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
fn annotate_tcp(out: &mut String, base: usize, segment: &Segment<'_>) {
    let seg = &segment.view;
    let _ = writeln!(out, "TCP header, {} bytes", seg.header_len());
    rows(out, base, seg.into_inner(), &TCP_FIELDS, |show| {
        show(segment)
    });
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
    let ip = &packet.ip;
    let mut out = String::new();
    let _ = writeln!(out, "IPv4 header, {} bytes", ip.header_len());
    rows(&mut out, 0, ip.into_inner(), &IPV4_FIELDS, |show| show(ip));
    let options = ip.options();
    if !options.is_empty() {
        let n = options.len();
        let meaning = format!("options, {n} bytes");
        line(&mut out, ipv4::MIN_HEADER_LEN, options, &meaning);
    }
    let segment = Segment {
        view: packet.tcp,
        status: packet.checksum_status(),
    };
    annotate_tcp(&mut out, ip.header_len(), &segment);
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
/// Fails if the bytes are not a well-formed TCP segment
/// ([`TcpPacket::check_len`]).
pub fn annotate_segment(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    segment: &[u8],
) -> Result<String, ParseError> {
    let view = TcpPacket::new_checked(segment)?;
    let status = checksum_status(src, dst, &view);
    let mut out = String::new();
    annotate_tcp(&mut out, 0, &Segment { view, status });
    Ok(out)
}
