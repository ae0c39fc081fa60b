//! `step-03-epoll --pcap FILE`: what the two raw sockets received, read back
//! with an independent reader (pcap-file, through `testkit::read_pcap`) and
//! our own parser: each tick's segment and the kernel's RST to it, in the
//! order they crossed `lo`, though the loop reads the two sockets in the
//! order epoll reports them. A path that cannot be created, or a missing file
//! name, stops the program before anything is sent.
//!
//! The binary enters its own network namespace; where none can be had, the
//! test that captures says `skipped: ...` and passes.

use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use step_01_socket::parse_received;
use testkit::{namespace_refused, read_pcap, skip, temp_path};

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

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
fn the_file_holds_each_ticks_segment_then_the_kernels_rst() {
    let test = "the_file_holds_each_ticks_segment_then_the_kernels_rst";
    let path = temp_path("step-03.pcap");
    let started = SystemTime::now();
    let output = run(&["--ticks", "3", "--pcap", path.to_str().unwrap()]);
    if let Some(why) = namespace_refused(&output) {
        return skip(test, &why);
    }
    assert!(output.status.success());
    let records = read_pcap(&path);
    let _ = std::fs::remove_file(&path);

    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = format!("pcap: 6 packets written to {}", path.display());
    assert!(stdout.contains(&summary), "no {summary:?} in\n{stdout}");
    let summaries: Vec<String> = records
        .iter()
        .map(|(_, bytes)| parse_received(bytes).expect("IPv4 + TCP").summary())
        .collect();
    let segment = |seq: &str| {
        format!(
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq {seq} ack 1 win 65535 len 12"
        )
    };
    // The kernel's RST takes its number from the segment's ack: 1, each time.
    let rst = "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1 win 0 len 0";
    pretty_assertions::assert_eq!(
        summaries,
        [
            segment("1:13"),
            rst.to_owned(),
            segment("13:25"),
            rst.to_owned(),
            segment("25:37"),
            rst.to_owned(),
        ]
    );
    // Real arrival times, in order, within the run; a tick (100 ms) apart.
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
    assert!(records[2].0 - records[0].0 >= Duration::from_millis(50));
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    let output = run(&["--pcap", "/nonexistent-dir/step-03.pcap"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: --pcap: cannot create /nonexistent-dir/step-03.pcap: \
             No such file"
        ),
        "{stderr}"
    );
    // Not even the namespace was entered: nothing was opened, nothing sent.
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
}

#[test]
fn pcap_needs_a_file_name_and_help_documents_it() {
    let output = run(&["--ticks", "2", "--pcap"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --pcap needs a file name"),
        "{stderr}"
    );
    assert!(stderr.contains("usage: step-03-epoll [--ticks N] [--pcap FILE]"));

    let help = run(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--pcap FILE"), "{help}");
    assert!(help.contains("LINKTYPE_RAW"), "{help}");
}
