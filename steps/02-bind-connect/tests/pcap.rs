//! `step-02-bind-connect --pcap FILE`: the recorder's file read back with an
//! independent reader (pcap-file, through `testkit::read_pcap`) and every
//! packet in it with our own parser; a path that cannot be created, or a
//! missing file name, stops the program before anything is sent.
//!
//! The binary enters its own network namespace; where none can be had, the
//! test that captures says `skipped: ...` and passes.

use step_01_socket::parse_received;
use testkit::Captured;

const BIN: &str = env!("CARGO_BIN_EXE_step-02-bind-connect");

#[test]
fn the_file_holds_every_segment_of_the_three_scenarios_in_order() {
    let test = "the_file_holds_every_segment_of_the_three_scenarios_in_order";
    let Some(Captured { records, .. }) = testkit::run_with_pcap(test, BIN, &[])
    else {
        return;
    };
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
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    testkit::assert_an_uncreatable_pcap_file_stops_it_first(BIN, &[]);
}

#[test]
fn pcap_needs_a_file_name_and_help_documents_it() {
    testkit::assert_pcap_needs_a_file_name(
        BIN,
        &[],
        Some("usage: step-02-bind-connect [--pcap FILE]"),
    );
}
