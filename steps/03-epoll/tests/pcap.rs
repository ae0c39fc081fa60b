//! `step-03-epoll --pcap FILE`: what the two raw sockets received, read back
//! with an independent reader (pcap-file, through `testkit::read_pcap`) and
//! our own parser: each tick's segment and the kernel's RST to it, in the
//! order they crossed `lo`, though the loop reads the two sockets in the
//! order epoll reports them. A path that cannot be created, or a missing file
//! name, stops the program before anything is sent.
//!
//! The binary enters its own network namespace; where none can be had, the
//! test that captures says `skipped: ...` and passes.

use std::time::Duration;

use step_01_socket::parse_received;
use testkit::Captured;

const BIN: &str = env!("CARGO_BIN_EXE_step-03-epoll");

#[test]
fn the_file_holds_each_ticks_segment_then_the_kernels_rst() {
    let test = "the_file_holds_each_ticks_segment_then_the_kernels_rst";
    let Some(Captured { records, .. }) =
        testkit::run_with_pcap(test, BIN, &["--ticks", "3"])
    else {
        return;
    };
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
    // A tick (100 ms) apart.
    assert!(records[2].0 - records[0].0 >= Duration::from_millis(50));
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    testkit::assert_an_uncreatable_pcap_file_stops_it_first(BIN, &["--ticks", "2"]);
}

#[test]
fn pcap_needs_a_file_name_and_help_documents_it() {
    testkit::assert_pcap_needs_a_file_name(
        BIN,
        &["--ticks", "2"],
        Some("usage: step-03-epoll [--ticks N] [--pcap FILE]"),
    );
}
