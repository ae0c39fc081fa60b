//! Running the step-04 binary from tests, without touching the host's network.
//!
//! A test that sends packets runs whole in a private network namespace of its
//! own, as an ordinary user as well as root (`testkit::in_private_network`).
//! There [`command`] starts the binary, which inherits the namespace: the
//! server and the client of one test meet there, and no other test sees them.
//! `testkit` has the rest: programs awaited line by line (`Running`), an
//! injector of hand-made IPv4 packets, firewall rules (`nft`).
//!
//! [`ignored`] and [`count_after`] read the echo's own summary lines.

#![allow(dead_code)] // each test file uses a different part

use std::process::Command;

use testkit::Finished;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_step-04-echo");

/// A command that runs `BIN args`. Started from a test that runs in its own
/// network namespace (see `testkit::in_private_network`), the program
/// inherits it: the server and the client of one test meet there, and no other
/// test sees their packets.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    command
}

/// The count after `reason ` in a side's last `ignored` line, e.g.
/// `foreign 3`; 0 if the reason is not listed.
pub fn ignored(output: &Finished, role: &str, reason: &str) -> u64 {
    let prefix = format!("{role}: ignored ");
    // With -v, each ignored segment has a line of its own; the summary's
    // comes last.
    let line = output
        .lines_starting(&prefix)
        .pop()
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{}", output.stdout));
    line[prefix.len()..]
        .split(", ")
        .find_map(|item| item.strip_prefix(&format!("{reason} ")))
        .map(|n| n.parse().expect("a count"))
        .unwrap_or(0)
}

/// The number after `word` in `line`: `count("sent 7 requests", "sent")` is 7.
pub fn count_after(line: &str, word: &str) -> Option<u64> {
    let mut words = line.split([' ', ',']).filter(|w| !w.is_empty());
    words.find(|w| *w == word)?;
    words.next()?.parse().ok()
}
