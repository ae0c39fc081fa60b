//! The program output chapter 3 shows, made by running the program as the book
//! says. The book includes these snapshots, so what they show is what the code
//! prints today.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

#[test]
fn three_ticks() {
    let run = testkit::output(Command::new(BIN).args(["--ticks", "3"]));
    if testkit::skipped("three_ticks", &run) {
        return;
    }
    assert!(run.status.success(), "{run:?}");
    // The first line says whose namespace the program made: it differs
    // between root and an ordinary user, and the book says both.
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
    ]}, {
        insta::assert_snapshot!(
            "three_ticks",
            String::from_utf8_lossy(&run.stdout)
        );
    });
}

/// `--ticks 100`, stopped with SIGINT (what Ctrl+C sends) once tick 6's
/// segment was read: the end of what the program prints, from that read on.
#[test]
fn ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut command = Command::new(BIN);
    command.args(["--ticks", "100"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = testkit::spawn(&mut command).expect("the program starts");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let mut shown = Vec::new();
    let mut signalled = false;
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if line == "  socket: EPOLLIN" && !signalled {
            shown.clear();
        }
        shown.push(line.clone());
        if !signalled && line.contains("read 52 bytes") && line.contains("seq 61:73")
        {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT)
                .expect("kill");
            signalled = true;
        }
    }
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    std::io::Read::read_to_string(
        &mut child.stderr.take().expect("piped"),
        &mut stderr,
    )
    .expect("stderr");
    if testkit::skipped_with("ctrl_c", status, &stderr) {
        return;
    }
    assert!(status.success(), "{status:?} {stderr}");
    assert!(signalled, "tick 6 was never read: {shown:?}");
    // After EPOLL_CTL_DEL the program waits 200 ms while the timer, no longer
    // watched, ticks every 100 ms: 2 expirations, or 1 or 3 when the signal
    // came at the edge of a tick.
    insta::with_settings!({filters => vec![
        (r"expired \d time\(s\)", "expired [n] time(s)"),
    ]}, {
        insta::assert_snapshot!("ctrl_c", shown.join("\n"));
    });
}
