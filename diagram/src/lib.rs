//! A capture drawn as a sequence diagram: one lane per endpoint, one arrow per
//! TCP segment, labelled as the programs print segments (flags, seq, ack,
//! length). The book's pictures of each step's exchange are drawn by this
//! crate from a `--pcap` file of a real run, so the picture is what the
//! program did, not a drawing of what it should do.
//!
//! Sequence numbers are shown relative to the SYN of their direction when the
//! capture holds it (as Wireshark does), so a kernel's random initial number
//! shows as 0 and the picture stays the same from run to run; without a SYN
//! they are shown as they are.
//!
//! A capture of several scenarios can be cut into sections: a titled band
//! across every lane before the arrow that starts each.
//!
//! The kernel can be a lane of its own: a RST is then drawn from it, since
//! in these captures every RST is the kernel's answer to a segment that no
//! socket of its own expected, sent under the address of the side it
//! answers for.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::tcp::TcpFlags;
use support::pcap::{HEADER_LEN, LINKTYPE_RAW, MAGIC, RECORD_HEADER_LEN};

/// Why a file could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiagramError {
    /// Not a pcap file this crate reads (little-endian, microseconds, raw IP).
    NotPcap(String),
    /// A lane given as NAME=ADDR[:PORT] that is not one.
    BadLane(String),
}

impl fmt::Display for DiagramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiagramError::NotPcap(why) => {
                write!(f, "not a capture this tool reads: {why}")
            }
            DiagramError::BadLane(why) => write!(f, "bad lane: {why}"),
        }
    }
}

impl std::error::Error for DiagramError {}

/// The packets of a pcap file written by `support::pcap` (or any
/// little-endian, microsecond pcap of link type raw IP), in file order.
pub fn read_pcap(bytes: &[u8]) -> Result<Vec<&[u8]>, DiagramError> {
    let header = bytes.get(..HEADER_LEN).ok_or_else(|| {
        DiagramError::NotPcap(format!(
            "{} bytes, shorter than a pcap header",
            bytes.len()
        ))
    })?;
    let word = |at: usize| {
        u32::from_le_bytes([
            header[at],
            header[at + 1],
            header[at + 2],
            header[at + 3],
        ])
    };
    if word(0) != MAGIC {
        return Err(DiagramError::NotPcap(format!(
            "magic {:#010x}, not {MAGIC:#010x} (little-endian, microseconds)",
            word(0)
        )));
    }
    if word(20) != LINKTYPE_RAW {
        return Err(DiagramError::NotPcap(format!(
            "link type {}, not {LINKTYPE_RAW} (raw IP)",
            word(20)
        )));
    }
    let mut packets = Vec::new();
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let record = bytes.get(at..at + RECORD_HEADER_LEN).ok_or_else(|| {
            DiagramError::NotPcap(format!("record header at byte {at} cut short"))
        })?;
        let captured =
            u32::from_le_bytes([record[8], record[9], record[10], record[11]])
                as usize;
        let start = at + RECORD_HEADER_LEN;
        let packet = bytes.get(start..start + captured).ok_or_else(|| {
            DiagramError::NotPcap(format!(
                "record at byte {at} claims {captured} bytes past the end"
            ))
        })?;
        packets.push(packet);
        at = start + captured;
    }
    Ok(packets)
}

/// A lane: a name, and the endpoint whose segments leave from and arrive at
/// it (an address alone stands for every port of it not claimed by a lane
/// with that address and a port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    /// What the lane's header says.
    pub name: String,
    /// The address its segments carry; `None` for the kernel's lane.
    pub addr: Option<Ipv4Addr>,
    /// The port, if the lane is one port of the address.
    pub port: Option<u16>,
}

impl Lane {
    /// The kernel's lane: the RSTs leave from it.
    pub fn kernel() -> Lane {
        Lane {
            name: "kernel".into(),
            addr: None,
            port: None,
        }
    }

    /// `NAME=ADDR` or `NAME=ADDR:PORT`.
    pub fn parse(spec: &str) -> Result<Lane, DiagramError> {
        let (name, endpoint) = spec.split_once('=').ok_or_else(|| {
            DiagramError::BadLane(format!("'{spec}' is not NAME=ADDR[:PORT]"))
        })?;
        if name.is_empty() {
            return Err(DiagramError::BadLane(format!(
                "'{spec}' has no name before '='"
            )));
        }
        let (addr, port) = match endpoint.parse::<SocketAddrV4>() {
            Ok(socket) => (*socket.ip(), Some(socket.port())),
            Err(_) => match endpoint.parse::<Ipv4Addr>() {
                Ok(addr) => (addr, None),
                Err(_) => {
                    return Err(DiagramError::BadLane(format!(
                        "'{endpoint}' is not an IPv4 address or ADDR:PORT"
                    )));
                }
            },
        };
        Ok(Lane {
            name: name.into(),
            addr: Some(addr),
            port,
        })
    }

    fn label(&self) -> String {
        match (self.addr, self.port) {
            (Some(addr), Some(port)) => format!("{addr}:{port}"),
            (Some(addr), None) => format!("{addr}:*"),
            (None, _) => "(RSTs)".into(),
        }
    }
}

/// One segment, as an arrow between two lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    /// Index of the lane it leaves.
    pub from: usize,
    /// Index of the lane it reaches.
    pub to: usize,
    /// Flags, seq, ack and length, as the programs print them.
    pub label: String,
    /// A RST: drawn in its own colour.
    pub rst: bool,
}

/// A packet that is not drawn, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeftOut {
    /// Not TCP over IPv4, or malformed: the parser's reason.
    Unreadable {
        /// Its number in the capture, from 1.
        packet: usize,
        /// Why it could not be read.
        why: String,
    },
    /// Between endpoints that no lane claims: another part of the capture.
    OnNoLane {
        /// Its number in the capture, from 1.
        packet: usize,
        /// Its source.
        src: SocketAddrV4,
        /// Its destination.
        dst: SocketAddrV4,
    },
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftOut::Unreadable { packet, why } => {
                write!(f, "packet {packet}: {why}")
            }
            LeftOut::OnNoLane { packet, src, dst } => {
                write!(f, "packet {packet}: {src} > {dst} is on no lane")
            }
        }
    }
}

/// A titled band across the lanes, before the arrow that starts a part of
/// the capture (a scenario, a connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The index of the arrow it comes before (0: the first).
    pub before: usize,
    /// What the band says.
    pub title: String,
}

/// The arrows of a capture, and how many packets found no lane (or were not
/// TCP over IPv4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    /// The lanes, left to right.
    pub lanes: Vec<Lane>,
    /// The segments, top to bottom.
    pub arrows: Vec<Arrow>,
    /// Packets left out, each with why.
    pub left_out: Vec<LeftOut>,
    /// The bands that cut the arrows into parts, in the order given.
    pub sections: Vec<Section>,
}

/// The lane an endpoint belongs to: the lane of its address and port, else
/// of its address alone.
fn lane_of(lanes: &[Lane], endpoint: SocketAddrV4) -> Option<usize> {
    let exact = lanes.iter().position(|l| {
        l.addr == Some(*endpoint.ip()) && l.port == Some(endpoint.port())
    });
    exact.or_else(|| {
        lanes
            .iter()
            .position(|l| l.addr == Some(*endpoint.ip()) && l.port.is_none())
    })
}

/// Sorts the packets onto the lanes.
pub fn diagram(packets: &[&[u8]], lanes: Vec<Lane>) -> Diagram {
    let kernel = lanes.iter().position(|l| l.addr.is_none());
    // Each direction's SYN number, once seen: seq and ack are shown relative
    // to it.
    let mut syn: HashMap<(SocketAddrV4, SocketAddrV4), u32> = HashMap::new();
    let mut arrows = Vec::new();
    let mut left_out = Vec::new();
    for (n, bytes) in packets.iter().enumerate() {
        let packet = match step_01_socket::parse_received(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                left_out.push(LeftOut::Unreadable {
                    packet: n + 1,
                    why: error.to_string(),
                });
                continue;
            }
        };
        let (src, dst) = (packet.src(), packet.dst());
        let tcp = &packet.tcp;
        let flags = tcp.flags();
        let rst = flags.contains(TcpFlags::RST);
        let from = if rst {
            kernel.or_else(|| lane_of(&lanes, src))
        } else {
            lane_of(&lanes, src)
        };
        let (Some(from), Some(to)) = (from, lane_of(&lanes, dst)) else {
            left_out.push(LeftOut::OnNoLane {
                packet: n + 1,
                src,
                dst,
            });
            continue;
        };
        let seq = tcp.seq_number().0;
        if flags.contains(TcpFlags::SYN) {
            syn.entry((src, dst)).or_insert(seq);
        }
        let relative = |number: u32, direction| match syn.get(&direction) {
            Some(base) => number.wrapping_sub(*base),
            None => number,
        };
        let seq = relative(seq, (src, dst));
        let len = tcp.payload().len() as u32;
        let mut label = format!("{flags} seq {seq}");
        if len > 0 {
            let _ = write!(label, ":{}", seq.wrapping_add(len));
        }
        if flags.contains(TcpFlags::ACK) {
            let _ =
                write!(label, " ack {}", relative(tcp.ack_number().0, (dst, src)));
        }
        let _ = write!(label, " len {len}");
        // Short text payloads ("Hello server") are shown; other bytes are not.
        let payload = tcp.payload();
        if (1..=24).contains(&payload.len())
            && payload.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
        {
            let _ = write!(label, " \"{}\"", String::from_utf8_lossy(payload));
        }
        arrows.push(Arrow {
            from,
            to,
            label,
            rst,
        });
    }
    Diagram {
        lanes,
        arrows,
        left_out,
        sections: Vec::new(),
    }
}

/// The least horizontal distance between two lanes (a lane's box is 120
/// wide), and the margins.
const LANE_GAP: usize = 200;
const MARGIN: usize = 40;
/// Room left beside an arrow's label, so that it clears the lifelines and
/// the arrowhead.
const LABEL_PADDING: usize = 48;

/// How wide `text` is in the 12-pixel monospace font: 0.6 em a character.
fn text_width(text: &str) -> usize {
    text.chars().count() * 36 / 5
}
const HEADER_HEIGHT: usize = 56;
const ROW_HEIGHT: usize = 36;

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Diagram {
    /// Adds a band titled `title` before arrow number `number`, counted from 1
    /// as the picture numbers them.
    ///
    /// # Errors
    /// When there is no such arrow.
    pub fn add_section(&mut self, number: usize, title: &str) -> Result<(), String> {
        if number == 0 || number > self.arrows.len() {
            return Err(format!(
                "no arrow {number} to start a section: the arrows are 1 to {}",
                self.arrows.len()
            ));
        }
        self.sections.push(Section {
            before: number - 1,
            title: title.to_owned(),
        });
        Ok(())
    }

    /// The diagram as a standalone SVG image: no script, no external font, a
    /// white background so that it reads in the book's dark themes too.
    pub fn to_svg(&self, title: &str) -> String {
        let lanes = self.lanes.len().max(1);
        // Wide enough for every label between the lanes its arrow spans.
        let gap = self
            .arrows
            .iter()
            .filter(|a| a.from != a.to)
            .map(|a| {
                let span = a.from.abs_diff(a.to);
                (text_width(&a.label) + LABEL_PADDING).div_ceil(span)
            })
            .fold(LANE_GAP, usize::max);
        // ... and for every section's title.
        let width = self
            .sections
            .iter()
            .map(|s| text_width(&s.title) + 16)
            .fold(2 * MARGIN + (lanes - 1) * gap + 120, usize::max);
        let rows = self.arrows.len() + self.sections.len();
        let height = HEADER_HEIGHT + 24 + (rows + 1) * ROW_HEIGHT;
        let x = |lane: usize| MARGIN + 60 + lane * gap;
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"12\" role=\"img\">"
        );
        let _ = writeln!(svg, "<title>{}</title>", escape(title));
        svg.push_str(
            "<defs>\n\
             <marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f4e79\"/></marker>\n\
             <marker id=\"head-rst\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b03a2e\"/></marker>\n\
             </defs>\n",
        );
        let _ = writeln!(
            svg,
            "<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
        );
        for (i, lane) in self.lanes.iter().enumerate() {
            let cx = x(i);
            let _ = writeln!(
                svg,
                "<rect x=\"{}\" y=\"8\" width=\"120\" height=\"38\" rx=\"4\" fill=\"#eef3f8\" stroke=\"#1f4e79\"/>",
                cx - 60
            );
            let _ = writeln!(
                svg,
                "<text x=\"{cx}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"#000000\">{}</text>",
                escape(&lane.name)
            );
            let _ = writeln!(
                svg,
                "<text x=\"{cx}\" y=\"39\" text-anchor=\"middle\" font-size=\"10\" fill=\"#444444\">{}</text>",
                escape(&lane.label())
            );
            let _ = writeln!(
                svg,
                "<line x1=\"{cx}\" y1=\"46\" x2=\"{cx}\" y2=\"{}\" stroke=\"#999999\" stroke-dasharray=\"4 4\"/>",
                height - 8
            );
        }
        let mut row = 0;
        for (number, arrow) in self.arrows.iter().enumerate() {
            for section in self.sections.iter().filter(|s| s.before == number) {
                let top = HEADER_HEIGHT + 24 + row * ROW_HEIGHT;
                let _ = writeln!(
                    svg,
                    "<line x1=\"8\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#666666\"/>",
                    top + ROW_HEIGHT - 6,
                    width - 8,
                    top + ROW_HEIGHT - 6
                );
                let _ = writeln!(
                    svg,
                    "<text x=\"8\" y=\"{}\" font-weight=\"bold\" fill=\"#333333\" stroke=\"#ffffff\" stroke-width=\"4\" paint-order=\"stroke\">{}</text>",
                    top + ROW_HEIGHT - 12,
                    escape(&section.title)
                );
                row += 1;
            }
            let y = HEADER_HEIGHT + 24 + row * ROW_HEIGHT + ROW_HEIGHT / 2;
            row += 1;
            let (x1, x2) = (x(arrow.from), x(arrow.to));
            let (colour, head) = if arrow.rst {
                ("#b03a2e", "head-rst")
            } else {
                ("#1f4e79", "head")
            };
            let _ = writeln!(
                svg,
                "<text x=\"8\" y=\"{}\" font-size=\"10\" fill=\"#666666\">{}</text>",
                y + 4,
                number + 1
            );
            if x1 == x2 {
                // A segment from a lane to itself (both ends on one address).
                let _ = writeln!(
                    svg,
                    "<path d=\"M{x1},{} h40 v16 h-40\" fill=\"none\" stroke=\"{colour}\" marker-end=\"url(#{head})\"/>",
                    y - 8
                );
            } else {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"1.5\" marker-end=\"url(#{head})\"/>"
                );
            }
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                (x1 + x2) / 2 + if x1 == x2 { 50 } else { 0 },
                y - 6,
                escape(&arrow.label)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}
