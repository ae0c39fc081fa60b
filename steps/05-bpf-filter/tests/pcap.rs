//! `step-05-bpf-filter --pcap FILE`: what the witnesses read, read back with
//! an independent reader (pcap-file, through `testkit::read_pcap`) and our
//! own parser: the exchange as `lo` carried it, each RST the filters kept
//! from the sockets included, in the order the packets arrived. A path that
//! cannot be created stops the program before anything is sent.
//!
//! The binary enters its own network namespace; where none can be had, the
//! test that captures says `skipped: ...` and passes.

use step_01_socket::parse_received;
use testkit::Captured;

const BIN: &str = env!("CARGO_BIN_EXE_step-05-bpf-filter");

#[test]
fn the_file_holds_what_the_filters_kept_away_too() {
    let test = "the_file_holds_what_the_filters_kept_away_too";
    let Some(Captured { stdout, records }) =
        testkit::run_with_pcap(test, BIN, &["--count", "2", "--interval", "0"])
    else {
        return;
    };
    // The sockets read only the peer's segments: 2 reads a side ...
    for role in ["client", "server"] {
        let reads = format!("{role}: woke 2 times, read 2 segments");
        assert!(stdout.contains(&reads), "no {reads:?} in\n{stdout}");
    }
    // ... while lo carried the kernel's RST to each of them, as in step 4.
    let summaries: Vec<String> = records
        .iter()
        .map(|(_, bytes)| parse_received(bytes).expect("IPv4 + TCP").summary())
        .collect();
    let (client, server) = ("127.0.0.2:50001", "127.0.0.1:50000");
    let data = |from: &str, to: &str, seq: &str, ack: u32| {
        format!("TCP {from} > {to} [P.] seq {seq} ack {ack} win 65535 len 12")
    };
    let rst = |from: &str, to: &str, seq: u32| {
        format!("TCP {from} > {to} [R] seq {seq} win 0 len 0")
    };
    assert_eq!(
        summaries,
        [
            data(client, server, "1:13", 1),
            rst(server, client, 1),
            data(server, client, "1:13", 13),
            rst(client, server, 13),
            data(client, server, "13:25", 13),
            rst(server, client, 13),
            data(server, client, "13:25", 25),
            rst(client, server, 25),
        ]
    );
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    testkit::assert_an_uncreatable_pcap_file_stops_it_first(BIN, &[]);
}
