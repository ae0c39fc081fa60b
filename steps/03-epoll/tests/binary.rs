//! The chapter's program, run as the learner runs it.
//!
//! It needs a private network namespace, which a test thread cannot enter, so
//! these tests run the binary. Where the namespace cannot be had, they print
//! `skipped: ...` and pass.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use testkit::{PublicCopy, skip, skipped};

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run step-03-epoll")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What every complete run shows: a 0 return, `ticks` segments sent by the
/// sender on timer ticks and read by the socket, EPOLL_CTL_MOD, EPOLL_CTL_DEL.
fn assert_full_run(stdout: &str, ticks: usize) {
    let count =
        |pattern: &str| stdout.lines().filter(|l| l.contains(pattern)).count();
    assert!(stdout.contains("epoll_wait(20ms) = 0: the timeout passed"));
    // A tick, then EPOLLOUT asked for, reported, used and dropped, per segment.
    assert!(count("  timer: EPOLLIN") >= ticks, "a wake-up per tick");
    assert_eq!(count("EPOLL_CTL_MOD sender EPOLLIN|EPOLLOUT"), ticks);
    let writable = stdout
        .lines()
        .filter(|l| l.starts_with("  sender: ") && l.contains("EPOLLOUT"));
    assert_eq!(writable.count(), ticks);
    assert_eq!(count("EPOLL_CTL_MOD sender EPOLLIN: nothing left"), ticks);
    assert!(count("  socket: EPOLLIN") >= 1);
    assert_eq!(count(": from-peer"), ticks);
    // Each segment, sent once and read once, by its sequence numbers.
    for (i, seq) in ["seq 1:13", "seq 13:25", "seq 25:37"]
        .iter()
        .take(ticks)
        .enumerate()
    {
        let segment = format!("TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] {seq}");
        let sent = format!("sent 32 bytes: {segment}");
        let read =
            format!("read 52 bytes: {segment} ack 1 win 65535 len 12: from-peer");
        assert_eq!(count(&sent), 1, "segment {} sent", i + 1);
        assert_eq!(count(&read), 1, "segment {} read", i + 1);
    }
    // The kernel resets the hand-made segments; the sender reads the RSTs.
    assert!(stdout.contains("TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1"));
    assert!(stdout.contains(": kernel-rst"));
    assert!(stdout.contains(&format!("{ticks} segment(s) sent and read: stopping")));
    assert!(stdout.contains("EPOLL_CTL_DEL socket, sender, timer, signals"));
    assert!(stdout.contains("but it is not watched any more"));
}

#[test]
fn three_ticks_show_timer_socket_packets_a_zero_return_mod_and_del() {
    let output = run(&["--ticks", "3"]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    if skipped("three_ticks", &output) {
        return;
    }
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_full_run(&stdout, 3);
}

/// Starts a long run, waits until the signals are blocked (the 0 return is
/// printed after the signalfd exists), sends `signal`, and collects the exit
/// status and the output. If the namespace is refused, nothing is sent.
fn interrupted_by(signal: Signal) -> Output {
    let mut child: Child = Command::new(BIN)
        .args(["--ticks", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn step-03-epoll");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).expect("read stdout") > 0 {
        seen.push_str(&line);
        if line.starts_with("epoll_wait(20ms)") {
            let pid = Pid::from_raw(child.id() as i32);
            kill(pid, signal).expect("kill");
            break;
        }
        line.clear();
    }
    stdout.read_to_string(&mut seen).expect("read stdout");
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    Output {
        status,
        stdout: seen.into_bytes(),
        stderr,
    }
}

fn assert_stops_on(signal: Signal, test: &str) {
    let output = interrupted_by(signal);
    if skipped(test, &output) {
        return;
    }
    let ok = output.status.success();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        ok,
        "exit status 0 expected\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains(&format!(
        "  signals: EPOLLIN\n    {signal} read from the signalfd"
    )));
    assert!(
        stdout.contains(&format!("{signal} came through the signalfd: stopping"))
    );
    assert!(
        !stdout.contains("segment(s) sent and read"),
        "stopped early"
    );
    assert!(stdout.contains("EPOLL_CTL_DEL socket, sender, timer, signals"));
}

#[test]
fn sigint_comes_through_the_signalfd_and_exits_0() {
    assert_stops_on(Signal::SIGINT, "sigint_comes_through_the_signalfd");
}

#[test]
fn sigterm_comes_through_the_signalfd_and_exits_0() {
    assert_stops_on(Signal::SIGTERM, "sigterm_comes_through_the_signalfd");
}

#[test]
fn bad_flags_print_usage_and_exit_2() {
    for args in [
        &["--bogus"][..],
        &["--ticks"],
        &["--ticks", "0"],
        &["--ticks", "three"],
        &["--ticks", "-1"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains("usage: step-03-epoll [--ticks N]"),
            "{args:?}"
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?}: no namespace, no output"
        );
    }
}

#[test]
fn help_prints_usage_and_exits_0() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output.stdout).starts_with("usage: step-03-epoll [--ticks N]"));
}

#[test]
fn runs_without_sudo_as_uid_65534() {
    let test = "runs_without_sudo_as_uid_65534";
    if !testkit::is_root() {
        skip(
            test,
            "needs root: it runs the program as uid 65534 (the other tests ran it unprivileged)",
        );
        return;
    }
    let copy = PublicCopy::new(BIN, test);
    let output = testkit::output(copy.command_as_nobody().args(["--ticks", "2"]));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    if skipped(test, &output) {
        return;
    }
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.starts_with(
        "namespace: uid 65534 runs as root of a private user+network namespace"
    ));
    assert_full_run(&stdout, 2);
}
