//! `step-01-socket --pcap FILE`: the file is read back with an independent
//! reader (the pcap-file crate), and every packet in it with our own parser.
//!
//! The binary enters its own network namespace; where none can be had, the
//! tests that capture say `skipped: ...` and pass.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, SystemTime};

use step_01_socket::{ChecksumStatus, TcpFlags, parse_received};
use testkit::skip;

const BIN: &str = env!("CARGO_BIN_EXE_step-01-socket");

/// A fresh directory for one test's files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir()
            .join(format!("step-01-pcap-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    testkit::output_shown(BIN, args)
}

#[test]
fn the_capture_file_holds_the_syn_and_the_rst() {
    let test = "the_capture_file_holds_the_syn_and_the_rst";
    let dir = TempDir::new(test);
    let path = dir.join("syn.pcap");
    let started = SystemTime::now();
    let output = run(&["--pcap", path.to_str().unwrap()]);
    if let Some(why) = testkit::namespace_refused(&output) {
        return skip(test, &why);
    }
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);

    // testkit::read_pcap checks the link type: 101, the IPv4 header first.
    let packets = testkit::read_pcap(&path);
    let summary = format!(
        "pcap: {} packets written to {}",
        packets.len(),
        path.display()
    );
    assert!(stdout.contains(&summary), "no {summary:?} in\n{stdout}");
    assert!(packets.len() >= 2, "{} packets", packets.len());

    // Real times, in the order the packets came.
    let since_1970 =
        |time: SystemTime| time.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let (start, end) = (since_1970(started), since_1970(SystemTime::now()));
    for pair in packets.windows(2) {
        assert!(pair[0].0 <= pair[1].0, "times go backwards: {pair:?}");
    }
    for (time, _) in &packets {
        // Microseconds: the start, cut to them, may be a little later.
        assert!(
            start.saturating_sub(Duration::from_micros(1)) <= *time && *time <= end
        );
    }

    // Every record is a whole IPv4 packet, as the socket read it.
    let parsed: Vec<_> = packets
        .iter()
        .map(|(_, bytes)| {
            parse_received(bytes).expect("a well-formed IPv4 + TCP packet")
        })
        .collect();
    let syn = &parsed[0];
    assert_eq!(syn.dst().to_string(), "127.0.0.1:50000");
    assert_eq!(syn.tcp.flags(), TcpFlags::SYN);
    // The kernel's own SYN on lo: only the pseudo-header's sum (offload).
    assert_eq!(syn.checksum_status(), ChecksumStatus::Partial);
    let rst = &parsed[1];
    assert_eq!(rst.src().to_string(), "127.0.0.1:50000");
    assert_eq!(rst.dst(), syn.src());
    assert_eq!(rst.tcp.flags(), TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(rst.tcp.ack_number(), syn.tcp.seq_number() + 1);
    // The kernel's RST is built whole, checksum included.
    assert_eq!(rst.checksum_status(), ChecksumStatus::Correct);
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    testkit::assert_an_uncreatable_pcap_file_stops_it_first(BIN, &[]);
}

#[test]
fn pcap_needs_a_file_name_and_help_documents_it() {
    testkit::assert_pcap_needs_a_file_name(BIN, &[], None);
}
