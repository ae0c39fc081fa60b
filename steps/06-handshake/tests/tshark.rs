//! Wireshark's verdict: the demo recorded with `--pcap` and read back by
//! tshark, with TCP checksum validation on. Needs tshark (Debian package
//! `tshark`, installed by .ci/run); without it the test says it was skipped.

mod common;

use std::process::Command;

use common::{command, run};
use testkit::{find_program, skip};

/// Our two raw ends, as tshark prints them: address and port.
const OURS: [(&str, &str); 2] = [("127.0.0.2", "50001"), ("127.0.0.1", "50002")];

// ANCHOR: tshark
#[test]
fn tshark_finds_no_tcp_analysis_warning_and_good_checksums_on_our_segments() {
    let test =
        "tshark_finds_no_tcp_analysis_warning_and_good_checksums_on_our_segments";
    let Some(tshark) = find_program("tshark") else {
        skip(
            test,
            "`tshark` is not installed (Debian: apt-get install --no-install-recommends \
             tshark; .ci/run installs it)",
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let pcap = dir.join("handshake.pcap");
    let pcap = pcap.to_str().expect("a UTF-8 path");
    let demo = run(command(&["--pcap", pcap]));
    if demo.skipped(test) {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    let out = Command::new(tshark)
        .args(["-r", pcap, "-o", "tcp.check_checksum:TRUE", "-T", "fields"])
        .args(["-e", "ip.src", "-e", "tcp.srcport", "-e", "tcp.flags.str"])
        .args(["-e", "tcp.analysis.flags", "-e", "tcp.checksum.status"])
        .output()
        .expect("tshark runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    let rows = String::from_utf8(out.stdout).expect("UTF-8");
    let rows: Vec<Vec<&str>> =
        rows.lines().map(|row| row.split('\t').collect()).collect();
    // Both connections, every segment: 9 each.
    assert_eq!(rows.len(), 18, "{rows:?}");
    for row in &rows {
        let [src, port, _flags, analysis, checksum] = row[..] else {
            panic!("not five fields: {row:?}");
        };
        // No retransmission, out-of-order, duplicate ACK, zero window, ...
        assert_eq!(analysis, "", "an analysis flag: {row:?}");
        if OURS.contains(&(src, port)) {
            // 1: good. (The kernel's own segments on lo carry only a partial
            // checksum, which tshark calls bad: 0.)
            assert_eq!(checksum, "1", "{row:?}");
        }
    }
    let ours = rows
        .iter()
        .filter(|row| OURS.contains(&(row[0], row[1])))
        .count();
    assert_eq!(ours, 9, "{rows:?}");
}
// ANCHOR_END: tshark
