//! Least privilege: started as root through sudo, the program becomes the user
//! who ran sudo once its four fds are registered, and its loop runs as that
//! user. One test reads the ids and capabilities from outside, in
//! `/proc/PID/status`, while the loop runs.
//!
//! The tests simulate sudo: as root they set `SUDO_UID` and `SUDO_GID` to
//! 65534 (nobody). Without root they say `skipped: ...` and pass.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::{PublicCopy, skip, skipped, skipped_with};

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

/// The line the program prints once it has dropped root for nobody.
const DROPPED: &str = "privileges: dropped to uid 65534 gid 65534 (from sudo); \
                       CapEff 0000000000000000 CapPrm 0000000000000000";

/// A command that runs `copy` as root would under `sudo`, for nobody; `None`
/// (after saying why) without root.
fn as_sudo(test: &str, copy: &PublicCopy) -> Option<Command> {
    if !testkit::is_root() {
        skip(
            test,
            "needs root: the test plays sudo by setting SUDO_UID as root",
        );
        return None;
    }
    let mut command = Command::new(copy.path());
    command
        .current_dir(copy.dir())
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534");
    Some(command)
}

/// Whether the namespace the program entered maps root alone (root may not
/// unshare a network namespace by itself here), so nobody exists to become.
fn only_root_exists(test: &str, first_line: &str) -> bool {
    let only_root = first_line.contains("uid 0 runs as root of a private");
    if only_root {
        skip(
            test,
            "root needs a user namespace here, which maps root alone",
        );
    }
    only_root
}

#[test]
fn sudo_root_runs_the_loop_as_the_invoking_user() {
    let test = "sudo_root_runs_the_loop_as_the_invoking_user";
    let copy = PublicCopy::new(BIN, test);
    let Some(mut command) = as_sudo(test, &copy) else {
        return;
    };
    let output = testkit::output(command.args(["--ticks", "3"]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    if skipped(test, &output) || only_root_exists(test, &stdout) {
        return;
    }
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
    // After every fd is registered, before the first epoll_wait.
    let dropped = at("privileges: ").expect("a privileges line");
    assert_eq!(lines[dropped], DROPPED);
    assert!(at("epoll    fd").is_some_and(|i| i < dropped), "{stdout}");
    assert!(
        at("epoll_wait(20ms)").is_some_and(|i| dropped < i),
        "{stdout}"
    );
    // The raw sockets, the timerfd and the signalfd work on without root.
    assert!(stdout.contains("3 segment(s) sent and read: stopping"));
    assert_eq!(stdout.matches(": from-peer").count(), 3, "{stdout}");
    assert!(stdout.contains(": kernel-rst"), "{stdout}");
}

#[test]
fn the_kernel_reports_the_drop() {
    let test = "the_kernel_reports_the_drop";
    let copy = PublicCopy::new(BIN, test);
    let Some(mut command) = as_sudo(test, &copy) else {
        return;
    };
    // Enough ticks to run until the signal below.
    command
        .args(["--ticks", "1000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = testkit::spawn(&mut command).expect("start step-03-epoll");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut seen = String::new();
    // Up to the privileges line; the end of the output comes first if the
    // program fails.
    while !seen.contains("privileges: ") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read stdout") == 0 {
            break;
        }
        seen.push_str(&line);
    }
    if !seen.contains("privileges: ") {
        let mut stderr = String::new();
        let _ = child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut stderr);
        let status = child.wait().expect("wait");
        if skipped_with(test, status, &stderr) || only_root_exists(test, &seen) {
            return;
        }
        panic!("no privileges line: {status}\n{seen}{stderr}");
    }
    let pid = Pid::from_raw(child.id() as i32);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
    // Stop the program before asserting, so a failure leaves nothing running.
    kill(pid, Signal::SIGINT).expect("kill(SIGINT)");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("read stdout");
    let exit = child.wait().expect("wait");
    let status = status.expect("read /proc/PID/status");
    let line = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} line in\n{status}"))
    };
    // Real, effective, saved and filesystem ids: nobody's, all four.
    assert_eq!(line("Uid"), "Uid:\t65534\t65534\t65534\t65534");
    assert_eq!(line("Gid"), "Gid:\t65534\t65534\t65534\t65534");
    assert_eq!(line("Groups").trim_end(), "Groups:");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        assert_eq!(line(set), format!("{set}:\t0000000000000000"));
    }
    assert_eq!(line("NoNewPrivs"), "NoNewPrivs:\t1");
    // The signal sent by root still arrives through the signalfd.
    assert!(exit.success(), "{exit}\n{seen}{rest}");
    assert!(rest.contains("SIGINT came through the signalfd"), "{rest}");
}
