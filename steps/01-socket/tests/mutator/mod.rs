//! The mutation engine shared by `tests/mutations.rs` (100 000 mutants on
//! every `cargo test`) and `examples/mutate.rs` (a million or more, on demand).
//!
//! It takes real packets, damages them the ways a network, a buggy sender or
//! an attacker can ([`Mutation`]), and feeds each result to [`handle`]: what a
//! program does with the bytes of one read. Handling must never panic, and the
//! views must agree with each other whatever the bytes; [`Tally`] counts what
//! became of the mutants, so a run that parses nothing (or everything) shows.
//!
//! Both users include this file with `mod`, after `tests/common/mod.rs` (the
//! two packets and the SplitMix64 generator), so the same seed gives the same
//! mutants in a debug test and a release example.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::ipv4::{FLAG_DF, FLAG_MF, FRAG_OFFSET_MASK, Ipv4Repr};
use step_01_socket::{
    ChecksumCheck, ChecksumStatus, ParseError, Received, TcpFlags, TcpPacket,
    TcpRepr, annotate_packet, parse_received,
};

use crate::common::{CLIENT, DATA_PACKET, KERNEL_SYN, Rng, SERVER};

/// The kernel's RST|ACK answering a SYN to 127.0.0.1:50000, where nothing
/// listens, as step 1's binary read it on `lo`. Unlike the SYN, its TCP
/// checksum is complete (0xb8b2).
#[rustfmt::skip]
pub static KERNEL_RST: [u8; 40] = [
    // IPv4 header: IHL 5, total length 40, id 0, DF, TTL 64, TCP
    0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x3c, 0xce,
    0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
    // TCP: 50000 > 39840, seq 0, ack 2056265626, data offset 5, RST|ACK,
    // window 0, checksum 0xb8b2, urgent 0
    0xc3, 0x50, 0x9b, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x7a, 0x90, 0x1f, 0x9a,
    0x50, 0x14, 0x00, 0x00, 0xb8, 0xb2, 0x00, 0x00,
];

/// [`DATA_PACKET`] with 4 bytes of IPv4 options (three NOPs, end of list):
/// IHL 6, total length 56, header checksum 0x39bb. The TCP segment starts at
/// byte 24, not 20.
#[rustfmt::skip]
pub static DATA_WITH_IP_OPTIONS: [u8; 56] = [
    // IPv4 header: IHL 6, total length 56, id 1, DF, TTL 64, TCP
    0x46, 0x00, 0x00, 0x38, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x39, 0xbb,
    0x7f, 0x00, 0x00, 0x02, 0x7f, 0x00, 0x00, 0x01,
    // IPv4 options: NOP, NOP, NOP, end of list
    0x01, 0x01, 0x01, 0x00,
    // TCP: DATA_PACKET's segment, "Hello server"
    0xc3, 0x51, 0xc3, 0x50, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x50, 0x18, 0xff, 0xff, 0xbb, 0xd8, 0x00, 0x00,
    0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72,
];

/// The real packets every mutant starts from, with their names.
pub static SEEDS: [(&str, &[u8]); 4] = [
    ("our data packet", &DATA_PACKET),
    ("the kernel's SYN with options", &KERNEL_SYN),
    ("the kernel's RST", &KERNEL_RST),
    ("our data packet with IHL 6", &DATA_WITH_IP_OPTIONS),
];

// ---------------------------------------------------------------------------
// Mutations

/// The seed of the test's mutants; the example starts from it too, so its
/// first 100 000 mutants are the test's.
pub const SEED: u64 = 0x5eed_0100;

/// One way to damage a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    /// One bit flipped anywhere.
    FlipBit,
    /// One byte set to 0x00.
    Zero,
    /// One byte set to 0xff.
    AllOnes,
    /// One byte set to a random value.
    RandomByte,
    /// 1 to 8 random bytes inserted anywhere: every field after them moves.
    Insert,
    /// 1 to 8 bytes removed anywhere.
    Delete,
    /// The IHL nibble set to any of 0..=15 (the version nibble kept).
    Ihl,
    /// Total length set to a value near an edge, or any value.
    TotalLen,
    /// The TCP data offset nibble set to any of 0..=15, found where IHL says.
    DataOffset,
    /// The IPv4 flags and fragment offset set to a fragment's (MF, an
    /// offset, or both), or to any value.
    Fragment,
    /// A TCP port set to 0, or to any value, found where IHL says.
    Port,
    /// Cut short at a random length.
    Truncate,
    /// The front of this packet joined to the back of another seed.
    Splice,
}

impl Mutation {
    /// Every mutation, each drawn equally often.
    pub const ALL: [Mutation; 13] = [
        Mutation::FlipBit,
        Mutation::Zero,
        Mutation::AllOnes,
        Mutation::RandomByte,
        Mutation::Insert,
        Mutation::Delete,
        Mutation::Ihl,
        Mutation::TotalLen,
        Mutation::DataOffset,
        Mutation::Fragment,
        Mutation::Port,
        Mutation::Truncate,
        Mutation::Splice,
    ];
}

/// Turns seeds into mutants, deterministically: the same `seed` gives the same
/// sequence of mutants on every machine and in every build profile.
pub struct Mutator {
    rng: Rng,
}

impl Mutator {
    /// A mutator started from `seed`.
    pub fn new(seed: u64) -> Mutator {
        Mutator {
            rng: Rng::new(seed),
        }
    }

    /// The next mutant: a seed with 1 to 3 mutations stacked on it.
    pub fn next_mutant(&mut self) -> Vec<u8> {
        let (_, seed) = SEEDS[self.rng.below(SEEDS.len())];
        let mut bytes = seed.to_vec();
        for _ in 0..=self.rng.below(3) {
            let mutation = Mutation::ALL[self.rng.below(Mutation::ALL.len())];
            self.apply(mutation, &mut bytes);
        }
        bytes
    }

    /// Applies one `mutation` to `bytes`. Those that change a byte do nothing
    /// to an empty buffer.
    pub fn apply(&mut self, mutation: Mutation, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        let rng = &mut self.rng;
        match mutation {
            Mutation::FlipBit if len > 0 => {
                bytes[rng.below(len)] ^= 1 << rng.below(8)
            }
            Mutation::Zero if len > 0 => bytes[rng.below(len)] = 0x00,
            Mutation::AllOnes if len > 0 => bytes[rng.below(len)] = 0xff,
            Mutation::RandomByte if len > 0 => bytes[rng.below(len)] = rng.byte(),
            Mutation::Insert => {
                let at = rng.below(len + 1);
                let count = 1 + rng.below(8);
                let new = rng.bytes(count);
                bytes.splice(at..at, new);
            }
            Mutation::Delete if len > 0 => {
                let at = rng.below(len);
                let count = (1 + rng.below(8)).min(len - at);
                bytes.drain(at..at + count);
            }
            Mutation::Ihl if len > 0 => {
                bytes[0] = (bytes[0] & 0xf0) | rng.below(16) as u8;
            }
            Mutation::TotalLen if len >= 4 => {
                let value = match rng.below(6) {
                    0 => 0,
                    1 => 19 + rng.below(3), // around the smallest header
                    2 => 39 + rng.below(3), // around IPv4 + TCP headers
                    3 => len - 1 + rng.below(3), // around the bytes there
                    4 => 0xffff,
                    _ => usize::from(rng.u16()),
                };
                let value = u16::try_from(value).unwrap_or(u16::MAX);
                bytes[2..4].copy_from_slice(&value.to_be_bytes());
            }
            Mutation::DataOffset if len > 0 => {
                // Byte 12 of the TCP header, which starts where IHL says.
                let at = usize::from(bytes[0] & 0x0f) * 4 + 12;
                if let Some(byte) = bytes.get_mut(at) {
                    *byte = (*byte & 0x0f) | (rng.below(16) as u8) << 4;
                }
            }
            Mutation::Fragment if len >= 8 => {
                let value = match rng.below(4) {
                    0 => FLAG_MF,
                    1 => 1 + rng.below(usize::from(FRAG_OFFSET_MASK)) as u16,
                    2 => FLAG_DF | FLAG_MF | rng.u16() & FRAG_OFFSET_MASK,
                    _ => rng.u16(),
                };
                bytes[6..8].copy_from_slice(&value.to_be_bytes());
            }
            Mutation::Port if len > 0 => {
                // Bytes 0 and 1 (source) or 2 and 3 (destination) of the TCP
                // header, which starts where IHL says.
                let at = usize::from(bytes[0] & 0x0f) * 4 + 2 * rng.below(2);
                let value = if rng.below(2) == 0 { 0 } else { rng.u16() };
                if let Some(port) = bytes.get_mut(at..at + 2) {
                    port.copy_from_slice(&value.to_be_bytes());
                }
            }
            Mutation::Truncate => bytes.truncate(rng.below(len + 1)),
            Mutation::Splice => {
                let (_, other) = SEEDS[rng.below(SEEDS.len())];
                let cut = rng.below(len.min(other.len()) + 1);
                bytes.truncate(cut);
                bytes.extend_from_slice(&other[cut..]);
            }
            // A byte mutation of an empty buffer, or a total length with no
            // room for one.
            _ => {}
        }
    }
}

/// Every seed cut at every length from 0 to its own, each cut twice: as it is
/// (total length now past the end), and with total length saying exactly the
/// bytes that are left (so the IPv4 check passes and TCP's must catch it).
pub fn every_truncation() -> impl Iterator<Item = Vec<u8>> {
    SEEDS.iter().flat_map(|&(_, seed)| {
        (0..=seed.len()).flat_map(move |len| {
            let cut = seed[..len].to_vec();
            let mut fixed = cut.clone();
            if len >= 4 {
                fixed[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            }
            [cut, fixed]
        })
    })
}

// ---------------------------------------------------------------------------
// What a program does with the bytes of one read

/// Where a parsed packet stands for the demos' server (127.0.0.1:50000)
/// talking with its client (127.0.0.2:50001): step 2's `classify`, which
/// step 1 cannot call (step 2 depends on step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// From the client to the server.
    FromPeer,
    /// Between the two, with RST set.
    Reset,
    /// From the server to the client.
    OwnCopy,
    /// Any other addresses or ports.
    Foreign,
}

/// [`Verdict`] of `packet`: addresses *and* ports, then the RST flag.
pub fn classify(packet: &Received<'_>) -> Verdict {
    let me = SocketAddrV4::new(SERVER, 50000);
    let peer = SocketAddrV4::new(CLIENT, 50001);
    let (src, dst) = (packet.src(), packet.dst());
    if !((src == peer && dst == me) || (src == me && dst == peer)) {
        Verdict::Foreign
    } else if packet.tcp.flags().contains(TcpFlags::RST) {
        Verdict::Reset
    } else if src == peer {
        Verdict::FromPeer
    } else {
        Verdict::OwnCopy
    }
}

/// What became of one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It parsed; its checksum state and where it stands.
    Parsed(ChecksumStatus, Verdict),
    /// It was rejected, and why.
    Rejected(ParseError),
}

/// Prints the input being handled if handling it panics: the panic message
/// alone would not say which bytes did it. (Drop runs while a panic unwinds.)
struct ShowOnPanic<'a>(&'a [u8]);

impl Drop for ShowOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("while handling these {} bytes:", self.0.len());
            eprintln!("{:02x?}", self.0);
        }
    }
}

/// Runs `bytes` through everything a program does with the bytes of one read
/// (parse, summary line, checksum, annotated dump, both `Repr`s, the address
/// check, and the reply an echo server would build), and checks that the
/// answers agree with each other.
///
/// # Panics
/// When the packet code panics, or an answer contradicts another: each is a
/// bug. The bytes are printed to stderr first.
pub fn handle(bytes: &[u8]) -> Outcome {
    let _show = ShowOnPanic(bytes);
    let dump = annotate_packet(bytes);
    let packet = match parse_received(bytes) {
        Ok(packet) => packet,
        Err(error) => {
            let heading = format!("not a well-formed IPv4 + TCP packet: {error}\n");
            assert!(dump.starts_with(&heading), "{dump}");
            return Outcome::Rejected(error);
        }
    };
    assert!(dump.starts_with("IPv4 header, "), "{dump}");

    // The lengths add up: IPv4 header, TCP header and payload fill total
    // length exactly (bytes past it are not part of the packet).
    let (ip, tcp) = (&packet.ip, &packet.tcp);
    let total_len = usize::from(ip.total_len());
    let payload = tcp.payload();
    assert_eq!(
        ip.header_len() + tcp.header_len() + payload.len(),
        total_len
    );
    let ip_repr = packet.ip_repr();
    assert_eq!(Ipv4Repr::parse(ip, ChecksumCheck::Ignore), Ok(ip_repr));
    assert_eq!(ip_repr.payload_len, total_len - ip.header_len());

    // The meaning agrees with the view, and the summary line with both.
    let repr = packet.tcp_repr();
    assert_eq!(repr.payload, payload);
    assert_eq!(
        repr.ack_number.is_some(),
        tcp.flags().contains(TcpFlags::ACK)
    );
    let line = packet.summary();
    let start = format!("TCP {} > {} {}", packet.src(), packet.dst(), tcp.flags());
    assert!(line.starts_with(&start), "{line}");
    assert!(line.ends_with(&format!(" len {}", payload.len())), "{line}");

    let status = packet.checksum_status();
    let verifies = tcp.verify_checksum(ip.src_addr(), ip.dst_addr());
    assert_eq!(status == ChecksumStatus::Correct, verifies, "{status}");

    let verdict = classify(&packet);
    check_reply(&packet, &repr);
    Outcome::Parsed(status, verdict)
}

/// Builds the reply an echo server sends (ack = seq + the segment's sequence
/// length, the payload echoed back) and checks that it parses back to itself
/// with a correct checksum: emitting never fails for any received segment.
fn check_reply(packet: &Received<'_>, request: &TcpRepr<'_>) {
    let reply = TcpRepr {
        src_port: request.dst_port,
        dst_port: request.src_port,
        seq: request.ack_number.unwrap_or_default(),
        ack_number: Some(request.seq + request.seq_len()),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: request.window,
        payload: request.payload,
    };
    let (me, peer): (Ipv4Addr, Ipv4Addr) =
        (packet.ip.dst_addr(), packet.ip.src_addr());
    let bytes = reply.to_bytes(me, peer);
    let view = TcpPacket::new_checked(&bytes[..]).expect("our own reply parses");
    assert!(view.verify_checksum(me, peer));
    assert_eq!(
        TcpRepr::parse(&view, me, peer, ChecksumCheck::Verify),
        Ok(reply)
    );
}

// ---------------------------------------------------------------------------
// Counting outcomes

/// How many buffers ended each way.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Buffers handled.
    pub runs: u64,
    /// Parsed, by checksum state (`correct`, `partial`, `wrong`).
    pub checksums: BTreeMap<&'static str, u64>,
    /// Parsed, by verdict.
    pub verdicts: BTreeMap<Verdict, u64>,
    /// Rejected, by [`ParseError::reason`]; `truncated` is split by layer
    /// (`truncated: TCP header`).
    pub rejections: BTreeMap<String, u64>,
}

impl Tally {
    /// Counts one outcome.
    pub fn add(&mut self, outcome: Outcome) {
        self.runs += 1;
        match outcome {
            Outcome::Parsed(status, verdict) => {
                let status = match status {
                    ChecksumStatus::Correct => "correct",
                    ChecksumStatus::Partial => "partial",
                    ChecksumStatus::Wrong { .. } => "wrong",
                };
                *self.checksums.entry(status).or_default() += 1;
                *self.verdicts.entry(verdict).or_default() += 1;
            }
            Outcome::Rejected(error) => {
                let key = match error {
                    ParseError::Truncated { layer, .. } => {
                        format!("truncated: {layer}")
                    }
                    other => other.reason().to_owned(),
                };
                *self.rejections.entry(key).or_default() += 1;
            }
        }
    }

    /// Buffers that parsed.
    pub fn parsed(&self) -> u64 {
        self.checksums.values().sum()
    }

    /// Buffers that were rejected.
    pub fn rejected(&self) -> u64 {
        self.rejections.values().sum()
    }

    /// A table of the counts, one outcome a line, with percentages of all
    /// runs.
    pub fn report(&self) -> String {
        let percent = |n: u64| 100.0 * n as f64 / self.runs.max(1) as f64;
        let mut out = String::new();
        let mut row = |indent: usize, name: &str, n: u64| {
            let name = format!("{:indent$}{name}", "");
            let _ = writeln!(out, "{name:<38} {n:>10}  {:5.1}%", percent(n));
        };
        row(0, "handled", self.runs);
        row(2, "parsed", self.parsed());
        for (status, &n) in &self.checksums {
            row(4, &format!("checksum {status}"), n);
        }
        for (verdict, &n) in &self.verdicts {
            row(4, &format!("verdict {verdict:?}"), n);
        }
        row(2, "rejected", self.rejected());
        for (reason, &n) in &self.rejections {
            row(4, reason, n);
        }
        out
    }
}

/// Handles every truncation of every seed, then `mutants` mutants made from
/// `seed`, and counts the outcomes.
pub fn run(seed: u64, mutants: u64) -> Tally {
    let mut tally = Tally::default();
    for bytes in every_truncation() {
        tally.add(handle(&bytes));
    }
    let mut mutator = Mutator::new(seed);
    for _ in 0..mutants {
        tally.add(handle(&mutator.next_mutant()));
    }
    tally
}
