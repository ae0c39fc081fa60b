//! The bench, tiny: every configuration runs and reports sane figures. Not a
//! measurement: 200 round trips each, in a debug build, on a machine busy
//! with other tests. Nothing here is timed; what is checked are the counts
//! that do not depend on speed, and what the filter and the rule change in them.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use testkit::skipped;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_workbook-bench");

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

/// The line of the configuration `name` at `size` bytes.
fn line<'a>(lines: &[&'a str], name: &str, size: u64) -> &'a str {
    lines
        .iter()
        .find(|l| echo(l) == name && number(l, "payload_bytes") as u64 == size)
        .unwrap_or_else(|| panic!("no {name} at {size} in {lines:#?}"))
}

/// Every echo the bench measures, in the order of its table.
const ECHOES: [&str; 4] = ["raw", "raw-filtered", "raw-silenced", "kernel-tcp"];

/// Whether `test` stops here because `nft` is missing, which `raw-silenced`
/// needs (the bench leaves that row out, and says so).
fn no_nft(test: &str, output: &Output) -> bool {
    let stderr = text(&output.stderr);
    let left_out = stderr.contains("raw-silenced left out: nft is not installed");
    if left_out {
        testkit::skip(test, "nft is not installed: apt-get install nftables");
    }
    left_out
}

#[test]
fn bench_json_has_every_echo_and_sane_counts() {
    let test = "bench_json_has_every_echo_and_sane_counts";
    let bench = run(&["--count", "200", "--json"]);
    if skipped(test, &bench) || no_nft(test, &bench) {
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
    let expected: BTreeSet<(String, u64)> = ECHOES
        .into_iter()
        .flat_map(|e| [12, 1400].map(|s| (e.to_owned(), s)))
        .collect();
    assert_eq!(configurations, expected, "{out}");
    assert_eq!(lines.len(), 8, "{out}");
    for line in &lines {
        assert_eq!(number(line, "round_trips"), 200.0, "{line}");
        assert!(number(line, "round_trips_per_s") > 0.0, "{line}");
        assert!(number(line, "p50_us") > 0.0, "{line}");
        assert!(number(line, "p50_us") <= number(line, "p99_us"), "{line}");
        // The client woke at least once per reply; at most twice: once for
        // the kernel's RST to its request, once for the reply.
        let wakeups = number(line, "wakeups_per_round_trip");
        assert!((1.0..=2.0).contains(&wakeups), "{line}");
        // Every echo but the yardstick has its ratio to it.
        if echo(line) != "kernel-tcp" {
            assert!(number(line, "ratio_to_kernel_tcp") > 0.0, "{line}");
        }
    }
    for size in [12, 1400] {
        let raw = line(&lines, "raw", size);
        let filtered = line(&lines, "raw-filtered", size);
        let kernel = line(&lines, "kernel-tcp", size);
        // Unfiltered, two RSTs per round trip reach user space: the kernel's
        // answer to the request (read by the client) and to the reply (read
        // by the server). Alone in the namespace, nothing else is reset.
        let rsts = number(raw, "rsts_per_round_trip");
        assert!((rsts - 2.0).abs() < 0.05, "{raw}");
        // Filtered: the kernel drops them before they are queued, so the
        // client wakes once per round trip, for the reply.
        assert_eq!(number(filtered, "rsts_per_round_trip"), 0.0, "{filtered}");
        assert_eq!(
            number(filtered, "wakeups_per_round_trip"),
            1.0,
            "{filtered}"
        );
        assert!(number(filtered, "ratio_to_raw") > 0.0, "{filtered}");
        // Silenced: step 6's nft rule drops the kernel's RSTs before they
        // leave, so none reaches either end, and the client wakes once per
        // round trip. The rows that take their turn after it (raw, in the
        // next pass) read their two again: the rule is gone by then.
        let silenced = line(&lines, "raw-silenced", size);
        assert_eq!(number(silenced, "rsts_per_round_trip"), 0.0, "{silenced}");
        assert_eq!(
            number(silenced, "wakeups_per_round_trip"),
            1.0,
            "{silenced}"
        );
        assert!(number(silenced, "ratio_to_raw") > 0.0, "{silenced}");
        // The kernel's TCP: no raw socket, nothing to reset.
        assert_eq!(number(kernel, "rsts_per_round_trip"), 0.0, "{kernel}");
        assert_eq!(number(kernel, "wakeups_per_round_trip"), 1.0, "{kernel}");
    }
    // What the run was is said on stderr, out of the JSON's way.
    let err = text(&bench.stderr);
    assert!(err.contains("round trips per configuration"), "{err}");
}

#[test]
fn bench_prints_a_table_the_ratios_and_a_chart() {
    let test = "bench_prints_a_table_the_ratios_and_a_chart";
    let svg = testkit::temp_path("bench.svg");
    let bench = run(&["--count", "200", "--no-pin", "--svg", svg.to_str().unwrap()]);
    if skipped(test, &bench) || no_nft(test, &bench) {
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
    assert_eq!(rows.len(), 8, "{out}");
    let ratios: Vec<&str> = out.lines().filter(|l| l.contains(" / ")).collect();
    assert_eq!(
        ratios
            .iter()
            .map(|l| l.split(" (").next().unwrap_or_default())
            .collect::<Vec<_>>(),
        [
            "raw / kernel-tcp",
            "raw-filtered / kernel-tcp",
            "raw-silenced / kernel-tcp",
            "raw-filtered / raw",
            "raw-silenced / raw"
        ],
        "{out}"
    );
    // The chart: an SVG with a bar and a legend entry for each echo.
    let chart = std::fs::read_to_string(&svg).expect("the chart is written");
    let _ = std::fs::remove_file(&svg);
    assert!(chart.starts_with("<svg"), "{chart}");
    for name in ECHOES.into_iter().chain(["12-byte payloads"]) {
        assert!(
            chart.contains(&format!(">\n{name}\n<")),
            "{name} is not in the chart"
        );
    }
}

#[test]
fn options_are_checked_before_anything_runs() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--count", "0"],
            r#"error: --count: "0" is not a whole number from 1 to 10000000"#,
        ),
        (
            &["--count", "many"],
            r#"error: --count: "many" is not a whole number from 1 to 10000000"#,
        ),
        (
            &["--interval", "0"],
            r#"error: unknown option "--interval""#,
        ),
        (&["--svg"], "error: --svg needs a value"),
        (
            &["127.0.0.1"],
            r#"error: unexpected argument "127.0.0.1": it takes options only"#,
        ),
    ];
    for (args, message) in cases {
        let output = run(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(
            stderr.contains("usage: workbook-bench [--count N]"),
            "{args:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?} started");
    }
}

#[test]
fn help_documents_every_option_and_field() {
    let help = run(&["--help"]);
    assert!(help.status.success());
    let help = text(&help.stdout);
    for word in [
        "[--count N] [--no-pin] [--json] [--svg FILE]",
        "cargo run --release -p workbook-bench",
        "raw-filtered",
        "raw-silenced",
        "kernel-tcp",
        "JSON Lines",
        "rsts_per_round_trip",
        "ratio_to_kernel_tcp",
        "ratio_to_raw",
    ] {
        assert!(help.contains(word), "{word} is not in --help");
    }
}
