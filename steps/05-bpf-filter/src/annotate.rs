//! A program as text: one line per instruction in the style of `tcpdump -d`,
//! with a comment that says what it does to *this* packet's fields, and a
//! one-line account of a run ([`explain`]).
//!
//! The comments are not written by hand next to the code: they are read back
//! from the instructions themselves. Which field a load reads follows from
//! its offset (`ldb [9]` is the IPv4 protocol); what a test asks follows from
//! the field last loaded into A (`jeq #0x6` after it asks "TCP?"). So the
//! listing cannot drift from the program it lists.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use step_01_socket::TcpFlags;
use step_01_socket::{ipv4, tcp};

use crate::filter::FRAGMENT;
use crate::insn::{Insn, code};
use crate::interpret::{Stop, trace};

/// The fields the workbook's programs load, by what they mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    VersionIhl,
    Protocol,
    FlagsFragment,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    TcpFlags,
}

/// What the accumulator A holds, as far as the listing can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holds {
    /// A named header field.
    Field(Field),
    /// The IPv4 version nibble (byte 0 masked with 0xf0).
    Version,
    /// Something else, described.
    Other(String),
}

const VER_IHL: u32 = ipv4::field::VER_IHL as u32;
const PROTOCOL: u32 = ipv4::field::PROTOCOL as u32;
const FLAGS_FRAG: u32 = ipv4::field::FLAGS_FRAG.start as u32;
const SRC_ADDR: u32 = ipv4::field::SRC_ADDR.start as u32;
const DST_ADDR: u32 = ipv4::field::DST_ADDR.start as u32;
const SRC_PORT: u32 = tcp::field::SRC_PORT.start as u32;
const DST_PORT: u32 = tcp::field::DST_PORT.start as u32;
const TCP_FLAGS: u32 = tcp::field::FLAGS as u32;

impl Field {
    /// The field a load instruction reads, when it is one of ours: absolute
    /// offsets count from the IPv4 header, `[x + k]` from the TCP header.
    fn loaded_by(insn: &Insn) -> Option<Field> {
        Some(match (insn.code, insn.k) {
            (code::LDB_ABS, VER_IHL) => Field::VersionIhl,
            (code::LDB_ABS, PROTOCOL) => Field::Protocol,
            (code::LDH_ABS, FLAGS_FRAG) => Field::FlagsFragment,
            (code::LD_ABS, SRC_ADDR) => Field::SrcAddr,
            (code::LD_ABS, DST_ADDR) => Field::DstAddr,
            (code::LDH_IND, SRC_PORT) => Field::SrcPort,
            (code::LDH_IND, DST_PORT) => Field::DstPort,
            (code::LDB_IND, TCP_FLAGS) => Field::TcpFlags,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Field::VersionIhl => "IPv4 version and IHL",
            Field::Protocol => "IPv4 protocol",
            Field::FlagsFragment => "IPv4 flags and fragment offset",
            Field::SrcAddr => "IPv4 source address",
            Field::DstAddr => "IPv4 destination address",
            Field::SrcPort => "TCP source port",
            Field::DstPort => "TCP destination port",
            Field::TcpFlags => "TCP flags",
        }
    }
}

/// `RST`, `SYN or ACK`: the TCP flags in `mask`, lowest bit first.
fn flag_names(mask: u32) -> String {
    let names = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(flag, _)| mask & u32::from(flag.0) != 0)
        .map(|(_, name)| *name)
        .collect();
    if set.is_empty() || mask > 0xff {
        format!("bits 0x{mask:x}")
    } else {
        set.join(" or ")
    }
}

/// The question `jeq #k` asks about what A holds.
fn equals(holds: &Holds, k: u32) -> String {
    match holds {
        Holds::Version => format!("IPv{}? (version {})", k >> 4, k >> 4),
        Holds::Field(Field::Protocol) => match k {
            1 => "ICMP? (protocol 1)".to_owned(),
            6 => "TCP? (protocol 6)".to_owned(),
            17 => "UDP? (protocol 17)".to_owned(),
            _ => format!("protocol {k}?"),
        },
        Holds::Field(Field::SrcAddr) => format!("from {}?", Ipv4Addr::from(k)),
        Holds::Field(Field::DstAddr) => format!("to {}?", Ipv4Addr::from(k)),
        Holds::Field(Field::SrcPort) => format!("from port {k}?"),
        Holds::Field(Field::DstPort) => format!("to port {k}?"),
        Holds::Field(Field::TcpFlags) => format!("flags exactly {}?", flag_names(k)),
        Holds::Field(field) => format!("{} == 0x{k:x}?", field.name()),
        Holds::Other(what) => format!("{what} == {k} (0x{k:x})?"),
    }
}

/// The question `jset #k` asks about what A holds.
fn any_set(holds: &Holds, k: u32) -> String {
    const OFFSET: u32 = ipv4::FRAG_OFFSET_MASK as u32;
    const MF: u32 = ipv4::FLAG_MF as u32;
    const DF: u32 = ipv4::FLAG_DF as u32;
    match holds {
        Holds::Field(Field::TcpFlags) => format!("{} set?", flag_names(k)),
        Holds::Field(Field::FlagsFragment) => match k {
            FRAGMENT => "a fragment? (MF, or an offset)".to_owned(),
            OFFSET => "a later fragment? (an offset)".to_owned(),
            MF => "more fragments? (MF)".to_owned(),
            DF => "don't fragment? (DF)".to_owned(),
            _ => format!("any of 0x{k:x} set?"),
        },
        Holds::Field(field) => {
            format!("any of 0x{k:x} set in the {}?", field.name())
        }
        Holds::Version => format!("any of 0x{k:x} set in the version?"),
        Holds::Other(what) => format!("any of 0x{k:x} set in {what}?"),
    }
}

/// What a load that is none of the named fields reads.
fn describe_load(insn: &Insn) -> String {
    let k = insn.k;
    match insn.code {
        code::LDB_ABS => format!("byte {k}"),
        code::LDH_ABS => format!("2 bytes at {k}"),
        code::LD_ABS => format!("4 bytes at {k}"),
        code::LDB_IND => format!("the byte at x + {k}"),
        _ => format!("2 bytes at x + {k}"),
    }
}

/// One comment per instruction, following what A holds from load to load
/// in program order (the workbook's programs load a field right before they
/// test it).
fn comments(program: &[Insn]) -> Vec<String> {
    let mut holds = Holds::Other("A".to_owned());
    let mut out = Vec::with_capacity(program.len());
    for insn in program {
        let k = insn.k;
        let comment = match insn.code {
            code::LDB_ABS
            | code::LDH_ABS
            | code::LD_ABS
            | code::LDH_IND
            | code::LDB_IND => {
                holds = match Field::loaded_by(insn) {
                    Some(field) => Holds::Field(field),
                    None => Holds::Other(describe_load(insn)),
                };
                match &holds {
                    Holds::Field(field) => format!("A = {}", field.name()),
                    other => format!("A = {}", describe(other)),
                }
            }
            code::LDXB_MSH if k == VER_IHL => {
                "X = IHL * 4: where the TCP header starts".to_owned()
            }
            code::LDXB_MSH => format!("X = 4 * (byte {k} & 0xf)"),
            code::AND_K
                if holds == Holds::Field(Field::VersionIhl)
                    && k == u32::from(ipv4::VERSION_MASK) =>
            {
                holds = Holds::Version;
                "A = the version alone (high nibble)".to_owned()
            }
            code::AND_K => {
                holds = Holds::Other(format!("({} & 0x{k:x})", describe(&holds)));
                format!("A = {}", describe(&holds))
            }
            code::JEQ_K => equals(&holds, k),
            code::JSET_K => any_set(&holds, k),
            code::RET_K if k == 0 => {
                "reject: drop it here, nobody wakes up".to_owned()
            }
            code::RET_K if k >= u32::from(u16::MAX) => {
                "accept: queue the whole packet".to_owned()
            }
            code::RET_K => format!("accept: queue its first {k} bytes"),
            _ => "unknown opcode: the kernel refuses the program".to_owned(),
        };
        out.push(comment);
    }
    out
}

fn describe(holds: &Holds) -> String {
    match holds {
        Holds::Field(field) => field.name().to_owned(),
        Holds::Version => "the IPv4 version".to_owned(),
        Holds::Other(what) => what.clone(),
    }
}

/// The listing of one instruction, without its comment.
fn listing(at: usize, insn: &Insn) -> String {
    let (op, operand) = insn.mnemonic();
    let jumps = if insn.is_jump() {
        let (jt, jf) =
            (at + 1 + usize::from(insn.jt), at + 1 + usize::from(insn.jf));
        format!("jt {jt:<3} jf {jf}")
    } else {
        String::new()
    };
    format!("({at:03}) {op:<5} {operand:<13} {jumps:<13}")
}

// ANCHOR: annotate
/// The program, one instruction per line as `tcpdump -d` lists it (jump
/// targets as absolute instruction numbers), each with a comment:
///
/// ```text
/// (003) ldb   [9]                         ; A = IPv4 protocol
/// (004) jeq   #0x6          jt 5   jf 19  ; TCP? (protocol 6)
/// ```
pub fn annotate(program: &[Insn]) -> String {
    let mut out = String::new();
    for (at, (insn, comment)) in program.iter().zip(comments(program)).enumerate() {
        let _ = writeln!(out, "{} ; {comment}", listing(at, insn));
    }
    out
}
// ANCHOR_END: annotate

// ANCHOR: explain
/// What `program` decides for `packet`, and which instruction decided:
/// `accept  (018) ret #65535`, `reject  (008) from 127.0.0.2? no`, or
/// `reject  (016) ldb [x + 13] reads past the end (30 bytes)`.
pub fn explain(program: &[Insn], packet: &[u8]) -> String {
    let run = trace(program, packet);
    let comments = comments(program);
    match run.stop {
        Stop::Returned(at) if run.verdict > 0 => {
            format!("accept  ({at:03}) ret #{}", run.verdict)
        }
        Stop::Returned(at) => {
            // The last test on the way to `ret #0` is the one that failed.
            let steps = run.path.windows(2);
            let last_test = steps.rev().find(|w| program[w[0]].is_jump());
            match last_test {
                Some(&[test, next]) => {
                    let jt = test + 1 + usize::from(program[test].jt);
                    let answer = if next == jt { "yes" } else { "no" };
                    format!("reject  ({test:03}) {} {answer}", comments[test])
                }
                _ => format!("reject  ({at:03}) ret #0"),
            }
        }
        Stop::OutOfBounds(at) => {
            let (op, operand) = program[at].mnemonic();
            format!(
                "reject  ({at:03}) {op} {operand} reads past the end ({} bytes)",
                packet.len()
            )
        }
        Stop::Invalid(at) => {
            format!("reject  ({at:03}) not a valid instruction or jump target")
        }
    }
}
// ANCHOR_END: explain

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_follow_what_a_holds() {
        let program = [
            Insn::ldb(0),
            Insn::and(0xf0),
            Insn::jeq(0x40, 0, 9),
            Insn::ld(12),
            Insn::jeq(0x7f00_0002, 0, 7),
            Insn::ldxb_msh(0),
            Insn::ldb_x(13),
            Insn::jset(0x12, 0, 4),
            Insn::ldb(1),
            Insn::and(0xfc),
            Insn::jeq(0, 0, 1),
            Insn::ret(96),
            Insn::ret(0),
        ];
        assert_eq!(
            comments(&program),
            [
                "A = IPv4 version and IHL",
                "A = the version alone (high nibble)",
                "IPv4? (version 4)",
                "A = IPv4 source address",
                "from 127.0.0.2?",
                "X = IHL * 4: where the TCP header starts",
                "A = TCP flags",
                "SYN or ACK set?",
                "A = byte 1",
                "A = (byte 1 & 0xfc)",
                "(byte 1 & 0xfc) == 0 (0x0)?",
                "accept: queue its first 96 bytes",
                "reject: drop it here, nobody wakes up",
            ]
        );
    }

    #[test]
    fn a_listing_line_shows_absolute_jump_targets() {
        let program = [
            Insn::ldb(9),
            Insn::jeq(6, 0, 1),
            Insn::ret(65535),
            Insn::ret(0),
        ];
        assert_eq!(
            annotate(&program),
            "\
(000) ldb   [9]                         ; A = IPv4 protocol
(001) jeq   #0x6          jt 2   jf 3   ; TCP? (protocol 6)
(002) ret   #65535                      ; accept: queue the whole packet
(003) ret   #0                          ; reject: drop it here, nobody wakes up
"
        );
    }

    #[test]
    fn explain_names_the_deciding_instruction() {
        let program = [
            Insn::ldb(9),
            Insn::jeq(6, 0, 1),
            Insn::ret(65535),
            Insn::ret(0),
        ];
        let mut packet = [0u8; 20];
        packet[9] = 6;
        assert_eq!(explain(&program, &packet), "accept  (002) ret #65535");
        packet[9] = 17;
        assert_eq!(
            explain(&program, &packet),
            "reject  (001) TCP? (protocol 6) no"
        );
        assert_eq!(
            explain(&program, &packet[..9]),
            "reject  (000) ldb [9] reads past the end (9 bytes)"
        );
        assert_eq!(explain(&[Insn::ret(0)], &packet), "reject  (000) ret #0");
    }
}
