//! The checks of the exercises in `src/exercises/`: what each exercise's
//! filter decides on a fixed cast of packets, computed by the interpreter
//! (`run`), which decides as the kernel does (`tests/kernel.rs`).
//!
//! The snapshots show decisions only, not which instruction made them, so
//! any correct program passes, however its instructions are arranged. When a
//! check fails, the test prints your program's annotated listing too.
//!
//! The committed snapshots are the reference solutions' output. With the
//! starters the tests are ignored (so `cargo test --workspace` passes); run
//! one with `--ignored` to see whether your version matches:
//!
//! ```text
//! cargo test -p step-05-bpf-filter --test exercises exercise_syn_only -- --ignored
//! ```

mod common;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use common::{Sample, data, read, rst, with_ip_options};
use step_01_socket::{TcpFlags, parse_received};
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER};
use step_05_bpf_filter::exercises::SECOND_CLIENT;
use step_05_bpf_filter::exercises::accept_second_port::two_clients_filter;
use step_05_bpf_filter::exercises::syn_only::syn_filter;
use step_05_bpf_filter::{Insn, ProgramError, annotate, check, run};

fn sample(name: &str, bytes: Vec<u8>) -> Sample {
    Sample {
        name: name.to_owned(),
        bytes,
    }
}

/// The program, or a panic that says why it did not assemble.
fn assembled(program: Result<Vec<Insn>, ProgramError>) -> Vec<Insn> {
    let program =
        program.unwrap_or_else(|error| panic!("not a valid program: {error}"));
    // What the kernel would check before attaching it.
    assert_eq!(check(&program), Ok(()));
    program
}

/// One line per packet: `accept` or `reject`, what the packet is, and its
/// summary line. Prints the program's listing to stderr, which the test
/// harness shows when the check fails.
fn decisions(program: &[Insn], cast: &[Sample]) -> String {
    eprintln!("your program:\n{}", annotate(program));
    let mut out = String::new();
    for sample in cast {
        // Any length but 0 keeps the packet (the starters keep it whole).
        let verdict = match run(program, &sample.bytes) {
            0 => "reject",
            _ => "accept",
        };
        let line = match parse_received(&sample.bytes) {
            Ok(packet) => packet.summary(),
            Err(error) => format!("not IPv4 + TCP: {error}"),
        };
        let _ = writeln!(out, "{verdict}  {}\n        {line}", sample.name);
    }
    out
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-05-bpf-filter --test exercises exercise_accept_second_port -- --ignored"
)]
fn exercise_accept_second_port() {
    const NAME: &str = "accept_second_port";
    let program =
        assembled(two_clients_filter(SERVER, CLIENT, SECOND_CLIENT.port()));
    let at = |addr: [u8; 4], port| SocketAddrV4::new(Ipv4Addr::from(addr), port);
    let second = SECOND_CLIENT;
    let cast = [
        sample(
            "a request from the first client, port 50001",
            data(CLIENT, SERVER, 1, 1, REQUEST),
        ),
        sample(
            "a request from the second client, port 50002",
            data(second, SERVER, 1, 1, REQUEST),
        ),
        sample(
            "the second client's request behind IP options",
            with_ip_options(&data(second, SERVER, 13, 13, REQUEST)),
        ),
        sample(
            "the kernel's RST to a reply to the first client",
            rst(CLIENT, SERVER, 13),
        ),
        sample(
            "the kernel's RST to a reply to the second client",
            rst(second, SERVER, 13),
        ),
        sample(
            "the server's own reply to the second client",
            data(SERVER, second, 1, 13, REPLY),
        ),
        sample(
            "the second client's port, to another port of the server",
            data(second, at([127, 0, 0, 1], 40000), 1, 1, REQUEST),
        ),
        sample(
            "a stranger on port 50003 of the clients' address",
            data(at([127, 0, 0, 2], 50003), SERVER, 1, 1, REQUEST),
        ),
        sample(
            "port 50002 of another address",
            data(at([127, 0, 0, 3], 50002), SERVER, 1, 1, REQUEST),
        ),
    ];
    insta::assert_snapshot!(NAME, decisions(&program, &cast));
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-05-bpf-filter --test exercises exercise_syn_only -- --ignored"
)]
fn exercise_syn_only() {
    const NAME: &str = "syn_only";
    let program = assembled(syn_filter(SERVER));
    let at = |addr: [u8; 4], port| SocketAddrV4::new(Ipv4Addr::from(addr), port);
    let (alice, bob) = (at([127, 0, 0, 2], 43210), at([127, 0, 0, 9], 1234));
    let segment = |src, dst, flags| read(src, dst, 1000, 1, flags, b"");
    let syn = TcpFlags::SYN;
    let cast = [
        sample("a SYN from 127.0.0.2", segment(alice, SERVER, syn)),
        sample("a SYN from 127.0.0.9", segment(bob, SERVER, syn)),
        sample(
            "a SYN behind IP options",
            with_ip_options(&segment(alice, SERVER, syn)),
        ),
        sample(
            "a SYN-ACK to the listener",
            segment(alice, SERVER, syn | TcpFlags::ACK),
        ),
        sample(
            "the handshake's last ACK",
            segment(alice, SERVER, TcpFlags::ACK),
        ),
        sample("a data segment", data(alice, SERVER, 1001, 1, REQUEST)),
        sample("a RST", segment(alice, SERVER, TcpFlags::RST)),
        sample(
            "a FIN",
            segment(alice, SERVER, TcpFlags::FIN | TcpFlags::ACK),
        ),
        sample(
            "a SYN to another port of the listener's address",
            segment(alice, at([127, 0, 0, 1], 50001), syn),
        ),
        sample(
            "a SYN to the listener's port on another address",
            segment(alice, at([127, 0, 0, 2], 50000), syn),
        ),
    ];
    insta::assert_snapshot!(NAME, decisions(&program, &cast));
}
