//! `step-02-bind-connect --pcap FILE`: the recorder's file read back with an
//! independent reader (pcap-file, through `testkit::read_pcap`) and every
//! packet in it with our own parser; a path that cannot be created, or a
//! missing file name, stops the program before anything is sent.
//!
//! The binary enters its own network namespace; where none can be had, the
//! test that captures says `skipped: ...` and passes.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use step_01_socket::parse_received;
use testkit::{namespace_refused, read_pcap, skip, temp_path};

const BIN: &str = env!("CARGO_BIN_EXE_step-02-bind-connect");

fn run(args: &[&str]) -> Output {
    let output = testkit::output(Command::new(BIN).args(args));
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_file_holds_every_segment_of_the_three_scenarios_in_order() {
    let test = "the_file_holds_every_segment_of_the_three_scenarios_in_order";
    let path = temp_path("step-02.pcap");
    let started = SystemTime::now();
    let output = run(&["--pcap", path.to_str().unwrap()]);
    if let Some(why) = namespace_refused(&output) {
        return skip(test, &why);
    }
    assert!(output.status.success());
    let records = read_pcap(&path);
    let _ = std::fs::remove_file(&path);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = format!("pcap: 8 packets written to {}", path.display());
    assert!(stdout.contains(&summary), "no {summary:?} in\n{stdout}");
    // Each segment once, as it crossed lo, and the kernel's RST to it: A's,
    // B's two (request and reply, one address), C's (A's again).
    let summaries: Vec<String> = records
        .iter()
        .map(|(_, bytes)| parse_received(bytes).expect("IPv4 + TCP").summary())
        .collect();
    let request_a =
        "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12";
    let rst_a = "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1 win 0 len 0";
    pretty_assertions::assert_eq!(
        summaries,
        [
            request_a,
            rst_a,
            "TCP 127.0.0.1:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12",
            "TCP 127.0.0.1:50000 > 127.0.0.1:50001 [R] seq 1 win 0 len 0",
            "TCP 127.0.0.1:50000 > 127.0.0.1:50001 [P.] seq 1:13 ack 13 win 65535 len 12",
            "TCP 127.0.0.1:50001 > 127.0.0.1:50000 [R] seq 13 win 0 len 0",
            request_a,
            rst_a,
        ]
    );
    // Real arrival times, in order, within the run.
    let since_1970 =
        |time: SystemTime| time.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let (start, end) = (since_1970(started), since_1970(SystemTime::now()));
    for pair in records.windows(2) {
        assert!(pair[0].0 <= pair[1].0, "times go backwards");
    }
    for (time, _) in &records {
        // Microseconds: the start, cut to them, may be a little later.
        assert!(start.saturating_sub(Duration::from_micros(1)) <= *time);
        assert!(*time <= end);
    }
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    let output = run(&["--pcap", "/nonexistent-dir/step-02.pcap"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: --pcap: cannot create /nonexistent-dir/step-02.pcap: \
             No such file"
        ),
        "{stderr}"
    );
    // Not even the namespace was entered: nothing was opened, nothing sent.
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
}

#[test]
fn pcap_needs_a_file_name_and_help_documents_it() {
    let output = run(&["--pcap"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --pcap needs a file name"),
        "{stderr}"
    );
    assert!(stderr.contains("usage: step-02-bind-connect [--pcap FILE]"));

    let help = run(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--pcap FILE"), "{help}");
    assert!(help.contains("LINKTYPE_RAW"), "{help}");
}
