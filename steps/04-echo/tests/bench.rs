//! `bench`, tiny: every configuration runs and reports sane figures. Not a
//! measurement: 200 round trips each, in a debug build, on a machine busy
//! with other tests. Nothing here is timed; what is checked are the counts
//! that do not depend on speed.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use testkit::skipped;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_step-04-echo");

fn run(args: &[&str]) -> Output {
    testkit::output(Command::new(BIN).args(args))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The number after `"name":` in one JSON line.
fn number(line: &str, name: &str) -> f64 {
    let key = format!("\"{name}\":");
    let start = line
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        + key.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{name} in {line}: {e}"))
}

/// The string after `"echo":` in one JSON line.
fn echo(line: &str) -> &str {
    let start = line.find("\"echo\":\"").expect("an echo field") + 8;
    let end = line[start..].find('"').expect("a closing quote");
    &line[start..start + end]
}

#[test]
fn bench_json_has_every_configuration_and_sane_counts() {
    let test = "bench_json_has_every_configuration_and_sane_counts";
    let bench = run(&["bench", "--count", "200", "--json"]);
    if skipped(test, &bench) {
        return;
    }
    assert!(bench.status.success(), "{bench:?}");
    let out = text(&bench.stdout);
    let lines: Vec<&str> = out.lines().collect();
    // stdout is JSON Lines and nothing else.
    assert!(
        lines.iter().all(|l| l.starts_with('{') && l.ends_with('}')),
        "{out}"
    );
    let configurations: BTreeSet<(String, u64)> = lines
        .iter()
        .map(|l| (echo(l).to_owned(), number(l, "payload_bytes") as u64))
        .collect();
    let expected: BTreeSet<(String, u64)> = [
        ("raw", 12),
        ("raw-machines", 12),
        ("kernel-tcp", 12),
        ("raw", 1400),
        ("kernel-tcp", 1400),
    ]
    .into_iter()
    .map(|(e, s)| (e.to_owned(), s))
    .collect();
    assert_eq!(configurations, expected, "{out}");
    assert_eq!(lines.len(), 5, "{out}");
    for line in &lines {
        assert_eq!(number(line, "round_trips"), 200.0, "{line}");
        assert!(number(line, "round_trips_per_s") > 0.0, "{line}");
        assert!(number(line, "p50_us") > 0.0, "{line}");
        assert!(number(line, "p50_us") <= number(line, "p99_us"), "{line}");
        // The client woke at least once per reply; at most twice: once for
        // the kernel's RST to its request, once for the reply.
        let wakeups = number(line, "wakeups_per_round_trip");
        assert!((1.0..=2.0).contains(&wakeups), "{line}");
        let rsts = number(line, "rsts_per_round_trip");
        if echo(line) == "kernel-tcp" {
            assert_eq!(rsts, 0.0, "{line}");
            assert_eq!(wakeups, 1.0, "{line}");
        } else {
            // Two RSTs per round trip reach user space: the kernel's answer
            // to the request (read by the client) and to the reply (read by
            // the server). Alone in the namespace, nothing else is reset.
            assert!((rsts - 2.0).abs() < 0.05, "{line}");
        }
    }
    let raw = lines.iter().filter(|l| echo(l) == "raw");
    for line in raw {
        assert!(number(line, "ratio_to_kernel_tcp") > 0.0, "{line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| echo(l) == "raw-machines" && number(l, "ratio_to_raw") > 0.0),
        "{out}"
    );
    // What the run was is said on stderr, out of the JSON's way.
    let err = text(&bench.stderr);
    assert!(err.contains("round trips per configuration"), "{err}");
}

#[test]
fn bench_prints_a_table_and_the_ratios() {
    let test = "bench_prints_a_table_and_the_ratios";
    let bench = run(&["bench", "--count", "200", "--no-pin"]);
    if skipped(test, &bench) {
        return;
    }
    assert!(bench.status.success(), "{bench:?}");
    let out = text(&bench.stdout);
    assert!(out.contains("the two ends placed by the scheduler (--no-pin)"));
    assert!(
        out.contains("echo            payload   round trips/s"),
        "{out}"
    );
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(" B ") && !l.contains('/'))
        .collect();
    assert_eq!(rows.len(), 5, "{out}");
    assert!(out.contains("raw / kernel-tcp (round trips/s): "), "{out}");
    assert!(
        out.contains("raw-machines / raw (round trips/s): "),
        "{out}"
    );
}

#[test]
fn bench_options_are_checked_before_anything_runs() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["bench", "--count", "0"],
            r#"error: --count: "0" is not a whole number from 1 to 10000000"#,
        ),
        (
            &["bench", "--interval", "0"],
            r#"error: unknown option "--interval" for bench"#,
        ),
        (
            &["bench", "--pcap", "x.pcap"],
            "error: --pcap does not apply to bench",
        ),
        (
            &["bench", "127.0.0.1"],
            r#"error: unexpected argument "127.0.0.1": bench takes options only"#,
        ),
    ];
    for (args, message) in cases {
        let output = run(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(
            stderr.contains("step-04-echo bench [--count N]"),
            "{args:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?} started");
    }
}

#[test]
fn help_documents_bench() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for word in [
        "bench [--count N] [--no-pin] [--json]",
        "cargo run --release -p step-04-echo -- bench",
        "--no-pin",
        "JSON Lines",
        "rsts_per_round_trip",
        "ratio_to_kernel_tcp",
    ] {
        assert!(help.contains(word), "{word} is not in --help");
    }
}
