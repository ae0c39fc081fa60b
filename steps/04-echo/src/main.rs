//! Step 4: the tutorial's echo server and client over raw TCP sockets and epoll.
//!
//! Each side opens `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, binds it to its own
//! address and connects it to the other side's, and waits in one epoll set for
//! its socket, a timerfd (the client's pacing, resends and reply deadlines) and
//! a signalfd (SIGINT and SIGTERM, blocked as the first thing `main` does).
//! What a read means and what to send back is the business of the state
//! machines in the library (`Server`, `Client`); the loop that moves bytes
//! between them and the kernel is the library's `Echo` (`echo_loop.rs`), and
//! `Print` prints what they do. This file chooses what to run, and how the
//! program ends.
//!
//! With no arguments, a demo: both sides in one process and one epoll set, in a
//! private network namespace. `server` and `client` run one side each in the
//! current namespace, as in the tutorial's two terminals.
//!
//! With `--pcap FILE`, every packet the sockets read goes to FILE as well (see
//! the library's `capture.rs`), for Wireshark or tshark.
//!
//! What all this costs next to the kernel's own TCP is measured by the
//! workspace's `workbook-bench` crate, with these same machines and loop.

use std::process::ExitCode;

use nix::sys::signal::Signal;
use step_02_bind_connect::{CLIENT, SERVER};
use step_03_epoll::Signals;
use step_04_echo::args::{self, Mode, SYNOPSIS, USAGE};
use step_04_echo::capture::{self, Capture};
use step_04_echo::echo_loop::Echo;
use step_04_echo::report::Print;
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, fail_with_advice,
    usage_error,
};

/// What server and client modes say first: they use the namespace they are
/// started in, and a raw socket there reads all of its TCP traffic.
const CURRENT_NAMESPACE: &str = "namespace: the current one (server and client \
     modes); a raw socket here reads every TCP segment in it, other programs' too";

fn main() -> ExitCode {
    // ANCHOR: block_signals
    // The very first thing: SIGINT and SIGTERM blocked, and a signalfd for
    // them. From here on a signal at any moment (while the namespace is
    // entered, while the sockets are opened, ...) waits in the fd until the
    // loop reads it, and the program stops with its summary, exit 0.
    let signals = match Signals::new(&[Signal::SIGINT, Signal::SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => return fail(error),
    };
    // ANCHOR_END: block_signals
    exit_quietly_on_broken_pipe();
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let (mode, pcap) = match args::parse(std::env::args_os().skip(1)) {
        Ok((Mode::Help, _)) => {
            println!("{SYNOPSIS}\n\n{USAGE}\n\n{}", capture::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(parsed) => parsed,
        Err(error) => return usage_error(error, SYNOPSIS),
    };
    // ANCHOR: pcap_create
    // The capture file before anything else: a path that cannot be written
    // fails now, before any packet is sent.
    let capture = match pcap {
        None => Capture::off(),
        Some(path) => match Capture::create(&path) {
            Ok(capture) => capture,
            Err(error) => return fail(format_args!("--pcap: {error}")),
        },
    };
    // ANCHOR_END: pcap_create
    // ANCHOR: modes
    let result = match mode {
        // Printed above, before any file was created.
        Mode::Help => Ok(ExitCode::SUCCESS),
        Mode::Demo { client, verbose } => {
            // First thing, while the process has one thread: a network of our
            // own, even as root. The demo never touches the host's network.
            if let Err(exit) = enter_private_network() {
                return exit;
            }
            let (server, client) =
                (Some((SERVER, CLIENT)), Some((CLIENT, SERVER, client)));
            Echo::open(signals, server, client, capture, Print { verbose })
                .and_then(Echo::run)
        }
        Mode::Server { me, peer, verbose } => {
            println!("{CURRENT_NAMESPACE}");
            let server = Some((me, peer));
            Echo::open(signals, server, None, capture, Print { verbose })
                .and_then(Echo::run)
        }
        Mode::Client {
            me,
            peer,
            client,
            verbose,
        } => {
            println!("{CURRENT_NAMESPACE}");
            let client = Some((me, peer, client));
            Echo::open(signals, None, client, capture, Print { verbose })
                .and_then(Echo::run)
        }
    };
    // ANCHOR_END: modes
    match result {
        Ok(code) => code,
        // What failed, and the likely cause and its fix if there is a hint.
        Err(error) => fail_with_advice(&error),
    }
}
