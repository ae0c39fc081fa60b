//! `bench`, tiny: the filtered echo next to the unfiltered one and the
//! kernel's TCP. Not a measurement: 200 round trips each, in a debug build,
//! on a machine busy with other tests. Nothing here is timed; what is checked
//! are the counts the filter changes, which do not depend on speed.

use std::process::{Command, Output};

use testkit::skipped;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_step-05-bpf-filter");

fn run(args: &[&str]) -> Output {
    testkit::output(Command::new(BIN).args(args))
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

/// The line of the configuration `echo` at `size` bytes.
fn line<'a>(lines: &[&'a str], echo: &str, size: usize) -> &'a str {
    let (echo, size) = (
        format!("{{\"echo\":\"{echo}\","),
        format!("\"payload_bytes\":{size},"),
    );
    lines
        .iter()
        .find(|l| l.starts_with(&echo) && l.contains(&size))
        .unwrap_or_else(|| panic!("no {echo} at {size} in {lines:#?}"))
}

#[test]
fn bench_filtered_wakes_once_per_round_trip_and_reads_no_rst() {
    let test = "bench_filtered_wakes_once_per_round_trip_and_reads_no_rst";
    let bench = run(&["bench", "--count", "200", "--json"]);
    if skipped(test, &bench) {
        return;
    }
    assert!(bench.status.success(), "{bench:?}");
    let out = String::from_utf8_lossy(&bench.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6, "{out}");
    for size in [12, 1400] {
        let raw = line(&lines, "raw", size);
        let filtered = line(&lines, "raw-filtered", size);
        let kernel = line(&lines, "kernel-tcp", size);
        for l in [raw, filtered, kernel] {
            assert_eq!(number(l, "round_trips"), 200.0, "{l}");
            assert!(number(l, "p50_us") <= number(l, "p99_us"), "{l}");
        }
        // Unfiltered, both RSTs of each round trip reach user space, and
        // the client sometimes wakes for its own before the reply comes.
        assert!(
            (number(raw, "rsts_per_round_trip") - 2.0).abs() < 0.05,
            "{raw}"
        );
        assert!(number(raw, "wakeups_per_round_trip") >= 1.0, "{raw}");
        // Filtered: the kernel drops them before they are queued, so the
        // client wakes once per round trip, for the reply.
        assert_eq!(number(filtered, "rsts_per_round_trip"), 0.0, "{filtered}");
        assert_eq!(
            number(filtered, "wakeups_per_round_trip"),
            1.0,
            "{filtered}"
        );
        assert!(number(filtered, "ratio_to_raw") > 0.0, "{filtered}");
        assert!(number(filtered, "ratio_to_kernel_tcp") > 0.0, "{filtered}");
        assert_eq!(number(kernel, "rsts_per_round_trip"), 0.0, "{kernel}");
    }
}

#[test]
fn bench_prints_the_filters_ratio_first() {
    let test = "bench_prints_the_filters_ratio_first";
    let bench = run(&["bench", "--count", "200"]);
    if skipped(test, &bench) {
        return;
    }
    assert!(bench.status.success(), "{bench:?}");
    let out = String::from_utf8_lossy(&bench.stdout);
    let ratios: Vec<&str> = out.lines().filter(|l| l.contains(" / ")).collect();
    assert_eq!(ratios.len(), 3, "{out}");
    assert!(
        ratios[0].starts_with("raw-filtered / raw (round trips/s): "),
        "{out}"
    );
}

#[test]
fn bench_options_are_step_4s() {
    let bad = run(&["bench", "--count", "many"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.starts_with(
            r#"error: --count: "many" is not a whole number from 1 to 10000000"#
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("step-05-bpf-filter bench [--count N]"),
        "{stderr}"
    );
    let help = run(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for word in ["bench [--count N] [--no-pin] [--json]", "ratio_to_raw"] {
        assert!(help.contains(word), "{word} is not in --help");
    }
}
