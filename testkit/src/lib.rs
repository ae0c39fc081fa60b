//! What the workbook's tests share: not part of any chapter's lesson, and a
//! dev-dependency of every step crate only.
//!
//! - [`skip`]: a test that cannot run here says why, where `cargo test` shows
//!   it; under `CI=true` a skip fails instead, so a green CI means every
//!   proof ran. [`find_program`] looks for a tool a test needs.
//! - [`namespace_refused`]: whether a step program could not enter its private
//!   namespace (the system forbids it), so that its test skips instead of
//!   failing; [`skipped`] and [`skipped_with`] also say so.
//! - [`in_private_network`]: the whole test re-run in a private network
//!   namespace of its own, for tests that use raw sockets directly, as an
//!   ordinary user as well as root; there [`nft`] loads firewall rules and
//!   an [`Injector`] sends hand-made IPv4 packets.
//! - [`programs`]: a step program run as a test needs it: copied where
//!   `nobody` may run it ([`PublicCopy`]), started even while briefly busy
//!   ([`output`], [`spawn`]), its output lines awaited with a bound on every
//!   wait ([`Running`]).
//! - [`packets`]: a segment as a raw socket reads it, behind the IPv4 header
//!   the kernel writes, and bytes as text for a snapshot or an `assert_eq!`;
//!   a `--pcap` file read back by an independent reader ([`read_pcap`]).

use std::io::Write;
use std::path::PathBuf;
use std::process::{ExitStatus, Output};

pub mod network;
pub mod packets;
pub mod programs;

pub use network::{Injector, in_private_network, nft, nft_installed};
pub use packets::{
    annotated, hex, ipv4_with_options, read_pcap, segment_as_read, with_ipv4_header,
};
pub use programs::{
    Captured, Finished, HANG, PublicCopy, Running,
    assert_an_uncreatable_pcap_file_stops_it_first, assert_pcap_needs_a_file_name,
    output, output_shown, run, run_with_pcap, shell, spawn,
};

/// The uid and gid of `nobody`: an unprivileged user on any Linux.
pub const NOBODY: u32 = 65534;

/// Says that `test` was skipped and why. Written to the process's stderr
/// directly: libtest captures `println!` and `eprintln!` of passing tests, so a
/// skip said that way would never be seen.
///
/// # Panics
/// Under `CI=true`: CI runs as root with every tool installed, so a skip there
/// means a proof did not run, and a green CI must mean that every one did.
pub fn skip(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some_and(|ci| ci == "true") {
        panic!(
            "{test} would be skipped under CI=true, where every test must run: {reason}"
        );
    }
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {reason}");
}

/// Where `program` is installed: on the PATH, or in `/usr/sbin` or `/sbin`,
/// which an ordinary user's PATH often lacks (Debian puts `nft` there).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The first line of the error when a step program could not enter a private
/// network namespace (the system forbids user namespaces); `None` otherwise.
pub fn namespace_refused(output: &Output) -> Option<String> {
    refusal(output.status, &String::from_utf8_lossy(&output.stderr))
}

/// Whether `test` stops here because the step program it ran could not enter
/// its private network namespace; if so, [`skip`] says so with the program's
/// first line of error.
pub fn skipped(test: &str, output: &Output) -> bool {
    skipped_with(
        test,
        output.status,
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// [`skipped`] for a program whose exit status and stderr the test collected
/// apart (one it started, read and waited for itself).
pub fn skipped_with(test: &str, status: ExitStatus, stderr: &str) -> bool {
    match refusal(status, stderr) {
        Some(why) => {
            skip(test, &why);
            true
        }
        None => false,
    }
}

/// See [`namespace_refused`].
fn refusal(status: ExitStatus, stderr: &str) -> Option<String> {
    if status.success()
        || !stderr.contains("cannot enter a private network namespace")
    {
        return None;
    }
    Some(stderr.lines().next().unwrap_or_default().to_owned())
}

/// Whether the calling process is root (tests that switch uid need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A path in the temp directory that no other test or run uses: `name`,
/// after the test process's id.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("workbook-test-{}-{name}", std::process::id()))
}
