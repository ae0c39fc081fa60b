//! SIGINT or SIGTERM at any moment: during setup (the namespace, the sockets),
//! at the first request, or in the middle of the exchange, the demo prints
//! both sides' summaries and exits 0.
//!
//! `main` blocks the two signals as its very first action, so from then on a
//! signal waits in the signalfd until the loop reads it. Before that line
//! nothing of ours runs yet (the dynamic loader, Rust's runtime) and the
//! default action would apply; so each run first waits until
//! `/proc/PID/status` shows them blocked, then sends the signal after a delay.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::BIN;
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use testkit::{HANG, Running};

/// Whether `pid` blocks SIGINT and SIGTERM (the `SigBlk` mask in its
/// status: bit 1 is SIGINT, bit 14 SIGTERM).
fn blocks_int_and_term(pid: Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix("SigBlk:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let wanted =
        1 << (Signal::SIGINT as u64 - 1) | 1 << (Signal::SIGTERM as u64 - 1);
    mask & wanted == wanted
}

/// When the signal goes out.
#[derive(Debug, Clone, Copy)]
enum When {
    /// This long after `main` blocked the signals.
    After(Duration),
    /// Once the client has read its second reply.
    MidRun,
}

/// Starts a demo that would run for minutes, signals it at `when`, and checks
/// that it ended well. Returns false if the demo cannot run here.
fn stop_demo(signal: Signal, when: When) -> bool {
    let mut demo = Running::spawn({
        let mut command = Command::new(BIN);
        command.args(["--count", "1000000", "--interval", "1ms"]);
        command
    });
    let start = Instant::now();
    while !blocks_int_and_term(demo.pid()) {
        assert!(start.elapsed() < HANG, "the signals were never blocked");
        std::thread::sleep(Duration::from_micros(100));
    }
    match when {
        When::After(delay) => std::thread::sleep(delay),
        When::MidRun => {
            if !demo.wait_for("(answers request 2)") {
                let demo = demo.finish();
                if demo.skipped("signals_at_any_moment_end_with_the_summary") {
                    return false;
                }
                panic!("no second reply: {demo:?}");
            }
        }
    }
    demo.signal(signal);
    let demo = demo.finish();
    if demo.skipped("signals_at_any_moment_end_with_the_summary") {
        return false;
    }
    let context = format!("{signal} {when:?}: {demo:?}");
    // An exit status, not death by the signal, and 0.
    assert_eq!(demo.status.code(), Some(0), "{context}");
    assert!(
        demo.stdout
            .contains(&format!("signal: {signal} received, stopping")),
        "{context}"
    );
    for line in [
        "client: sent ",
        "client: ignored ",
        "server: received ",
        "server: ignored ",
    ] {
        assert_eq!(demo.lines_starting(line).len(), 1, "{line}: {context}");
    }
    let sent = demo
        .lines_starting("client: sent ")
        .pop()
        .unwrap_or_default();
    println!("{signal} {when:?}: {sent}");
    true
}

#[test]
fn signals_at_any_moment_end_with_the_summary() {
    let moments = [
        When::After(Duration::ZERO),
        When::After(Duration::from_millis(1)),
        When::After(Duration::from_millis(5)),
        When::After(Duration::from_millis(20)),
        When::After(Duration::from_millis(100)),
        When::MidRun,
    ];
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        for when in moments {
            if !stop_demo(signal, when) {
                return;
            }
        }
    }
}
