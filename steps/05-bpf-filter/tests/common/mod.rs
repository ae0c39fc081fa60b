//! The packets the tests feed to the filters: each one exactly as a raw socket
//! reads it, IPv4 header first, with fixed sequence numbers and IP
//! identification so that every run prints the same text.
//!
//! [`samples`] is the cast: the echo's own four segments, strangers, and the
//! odd shapes a filter must still read right (IP options, a fragment, a cut
//! packet). [`table`] runs filters over a cast and prints one block per
//! packet: what it is, and what each filter decides and where.

#![allow(dead_code)] // each test file uses a different part

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::ipv4::{FLAG_MF, Ipv4Packet};
use step_01_socket::{TcpFlags, parse_received};
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER};
use step_05_bpf_filter::{Insn, explain};

/// A packet of the cast, with what it is.
pub struct Sample {
    /// What it is, in words.
    pub name: String,
    /// The bytes a raw socket reads.
    pub bytes: Vec<u8>,
}

/// What a raw socket reads when a segment with these fields goes from `src`
/// to `dst` (identification 1, a RST with window 0, as the kernel's).
pub use testkit::segment_as_read as read;

/// A data segment, PSH|ACK, as the echo sends them.
pub fn data(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    read(src, dst, seq, ack, TcpFlags::PSH | TcpFlags::ACK, payload)
}

/// The kernel's RST from `src` to `dst`: its seq is the ack it answers.
pub fn rst(src: SocketAddrV4, dst: SocketAddrV4, seq: u32) -> Vec<u8> {
    read(src, dst, seq, 0, TcpFlags::RST, b"")
}

/// `packet` with 4 bytes of IPv4 options (three NOPs and an end-of-list)
/// after the fixed header: IHL 6, so TCP starts at 24, not 20.
pub fn with_ip_options(packet: &[u8]) -> Vec<u8> {
    let mut bytes = packet[..20].to_vec();
    bytes.extend_from_slice(&[1, 1, 1, 0]);
    bytes.extend_from_slice(&packet[20..]);
    let total = u16::try_from(bytes.len()).expect("a small packet");
    let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.set_version_ihl(6);
    ip.set_total_len(total);
    ip.fill_checksum();
    bytes
}

/// `packet` with its IPv4 header changed by `edit`, checksum recomputed.
pub fn edited(
    packet: &[u8],
    edit: impl FnOnce(&mut Ipv4Packet<&mut [u8]>),
) -> Vec<u8> {
    let mut bytes = packet.to_vec();
    let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
    edit(&mut ip);
    ip.fill_checksum();
    bytes
}

/// `packet` with the version nibble of its first byte set to `version`,
/// checksum recomputed.
pub fn with_version(packet: &[u8], version: u8) -> Vec<u8> {
    let mut bytes = packet.to_vec();
    bytes[0] = version << 4 | (bytes[0] & 0x0f);
    edited(&bytes, |_| {})
}

fn sample(name: &str, bytes: Vec<u8>) -> Sample {
    Sample {
        name: name.to_owned(),
        bytes,
    }
}

/// The first request of the echo, client to server.
pub fn request() -> Vec<u8> {
    data(CLIENT, SERVER, 1, 1, REQUEST)
}

/// The cast for the demo's two ends, server 127.0.0.1:50000 and client
/// 127.0.0.2:50001.
pub fn samples() -> Vec<Sample> {
    let stranger_port = SocketAddrV4::new(*CLIENT.ip(), 40000);
    let stranger_addr = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 3), 50001);
    let request = request();
    vec![
        sample("the request, client to server", request.clone()),
        sample(
            "the reply, server to client",
            data(SERVER, CLIENT, 1, 13, REPLY),
        ),
        sample("the kernel's RST to the request", rst(SERVER, CLIENT, 1)),
        sample("the kernel's RST to the reply", rst(CLIENT, SERVER, 13)),
        sample(
            "an ACK without data, client to server",
            read(CLIENT, SERVER, 13, 13, TcpFlags::ACK, b""),
        ),
        sample(
            "a stranger: the client's address, another port",
            data(stranger_port, SERVER, 1, 1, REQUEST),
        ),
        sample(
            "a stranger: another address, the client's port",
            data(stranger_addr, SERVER, 1, 1, REQUEST),
        ),
        sample(
            "the request with 4 bytes of IP options (IHL 6)",
            with_ip_options(&request),
        ),
        sample(
            "a stranger's port behind IP options (IHL 6)",
            with_ip_options(&data(stranger_port, SERVER, 1, 1, REQUEST)),
        ),
        sample(
            "the request as a first fragment (MF set)",
            edited(&request, |ip| ip.set_flags_frag(FLAG_MF)),
        ),
        sample(
            "the request's bytes as UDP (protocol 17)",
            edited(&request, |ip| ip.set_protocol(17)),
        ),
        sample(
            "the request's bytes with version 6",
            with_version(&request, 6),
        ),
        sample(
            "the request cut to 30 bytes (no TCP flags byte)",
            request[..30].to_vec(),
        ),
        sample(
            "the request cut to 22 bytes (no destination port)",
            request[..22].to_vec(),
        ),
    ]
}

/// One block per sample: its name, its summary line (or why it does not
/// parse), and what each named filter decides, with the instruction that
/// decided.
pub fn table(samples: &[Sample], filters: &[(&str, &[Insn])]) -> String {
    let mut out = String::new();
    for sample in samples {
        let _ = writeln!(out, "{}", sample.name);
        let line = match parse_received(&sample.bytes) {
            Ok(packet) => packet.summary(),
            Err(error) => format!("({} bytes: {error})", sample.bytes.len()),
        };
        let _ = writeln!(out, "  {line}");
        for (name, program) in filters {
            let _ = writeln!(out, "  {name}: {}", explain(program, &sample.bytes));
        }
        out.push('\n');
    }
    out
}
