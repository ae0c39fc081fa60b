//! The binary at work: the demo in the private network namespace it enters
//! itself, as root and as uid 65534, and its command line.

use std::process::{Command, Output};

use testkit::{PublicCopy, skip, skipped};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_step-05-bpf-filter");

fn run(args: &[&str]) -> Output {
    testkit::output(Command::new(BIN).args(args))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The lines of `text` that start with `prefix`.
fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn demo_reads_only_the_peers_segments() {
    let demo = run(&[]);
    if skipped("demo_reads_only_the_peers_segments", &demo) {
        return;
    }
    let out = stdout(&demo);
    assert!(demo.status.success(), "{demo:?}");
    assert_eq!(lines(&out, "client: Received : Hello client").len(), 5);
    assert_eq!(lines(&out, "server: Received : Hello server").len(), 5);
    for role in ["client", "server"] {
        // Nothing for the machines to ignore: the kernel kept it.
        assert!(
            out.contains(&format!(
                "{role}: ignored foreign 0, kernel-rst 0, own-copy 0"
            )),
            "{out}"
        );
        // One wake-up, one read, per round trip.
        assert!(
            out.contains(&format!(
                "{role}: woke 5 times, read 5 segments: \
                 1.00 wake-ups and 1.00 reads per round trip"
            )),
            "{out}"
        );
        // And yet the kernel did send its RSTs: the unfiltered witness
        // read one per segment of ours.
        assert!(
            out.contains(&format!(
                "{role}: its witness, without the filter, read 10: \
                 from-peer 5, kernel-rst 5, own-copy 0, foreign 0"
            )),
            "{out}"
        );
    }
    // The whole story, pinned (the first line depends on who runs it, and a
    // run under sudo says that it dropped root).
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
        (r"(?m)^privileges: .*\n", ""),
    ]}, {
        insta::assert_snapshot!(out);
    });
}

#[test]
fn ping_pong_still_wakes_each_side_once_per_round_trip() {
    let test = "ping_pong_still_wakes_each_side_once_per_round_trip";
    // No pacing: each request as soon as the reply to the last one is read,
    // so the two sides wake each other as fast as they can.
    let demo = run(&["--count", "200", "--interval", "0"]);
    if skipped(test, &demo) {
        return;
    }
    let out = stdout(&demo);
    assert!(demo.status.success(), "{demo:?}");
    for role in ["client", "server"] {
        assert!(
            out.contains(&format!(
                "{role}: woke 200 times, read 200 segments: \
                 1.00 wake-ups and 1.00 reads per round trip"
            )),
            "{}",
            lines(&out, role).join("\n")
        );
    }
}

#[test]
fn demo_runs_without_root_in_a_user_namespace() {
    let test = "demo_runs_without_root_in_a_user_namespace";
    if !testkit::is_root() {
        skip(
            test,
            "needs root: it switches to uid 65534 to start the demo as another \
             user; run as you, demo_reads_only_the_peers_segments already showed \
             the demo without root",
        );
        return;
    }
    let copy = PublicCopy::new(BIN, test);
    let demo = testkit::output(copy.command_as_nobody().args(["--count", "2"]));
    if skipped(test, &demo) {
        return;
    }
    let out = stdout(&demo);
    assert!(demo.status.success(), "{demo:?}");
    assert!(
        out.starts_with(
            "namespace: uid 65534 runs as root of a private user+network namespace"
        ),
        "{out}"
    );
    // Attaching and locking a filter needs no privilege beyond the socket's.
    assert_eq!(lines(&out, "server: filter attached and locked").len(), 1);
    assert!(out.contains("client: sent 2 requests, 2 replies received, 0 lost"));
    assert!(out.contains(
        "server: woke 2 times, read 2 segments: \
         1.00 wake-ups and 1.00 reads per round trip"
    ));
}

#[test]
fn help_lists_the_options() {
    let help = run(&["--help"]);
    assert!(help.status.success(), "{help:?}");
    let out = stdout(&help);
    for option in ["--count", "--interval", "--timeout", "--tries", "--verbose"] {
        assert!(out.contains(option), "{option} is not in --help");
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["server"],
            "error: unexpected argument \"server\": this program runs the demo",
        ),
        (
            &["--addr", "127.0.0.1"],
            "error: --addr: the demo's ends are fixed, 127.0.0.1:50000 and \
             127.0.0.2:50001",
        ),
        (
            &["--count", "0"],
            "error: --count: \"0\" is not a whole number of at least 1",
        ),
        (&["--bogus"], "error: unknown option \"--bogus\""),
    ];
    for (args, message) in cases {
        let output = run(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: step-05-bpf-filter"), "{stderr}");
        assert!(output.stdout.is_empty(), "{args:?} printed to stdout");
    }
}
