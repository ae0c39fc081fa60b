//! `step-04-echo --pcap FILE`: the file is read back with independent readers
//! (pcap-file for the records, etherparse for the checksums) and our parser for
//! the summaries. The demo runs in its own namespace; server and client in the
//! one the test runs in (never the host's), as an ordinary user as well as
//! root.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{BIN, command};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use nix::sys::signal::Signal;
use step_01_socket::{TcpFlags, parse_received};
use testkit::{Finished, Running, in_private_network, run};

/// A fresh directory for one test's files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir()
            .join(format!("step-04-pcap-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("a UTF-8 path").to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The records of a pcap file: (time since 1970, the bytes), in file order.
type Records = Vec<(Duration, Vec<u8>)>;

/// The file read back by pcap-file, an independent reader.
fn read_pcap(path: &str) -> Records {
    testkit::read_pcap(Path::new(path))
}

fn since_1970(time: SystemTime) -> Duration {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
}

/// Checks that the records' times never go backwards and lie between `start`
/// and `end` (real times of this run, not made-up ones).
fn assert_real_times(
    packets: &[(Duration, Vec<u8>)],
    start: SystemTime,
    end: SystemTime,
) {
    // The file holds microseconds: the start, cut to them, may be later.
    let start = since_1970(start).saturating_sub(Duration::from_micros(1));
    let end = since_1970(end);
    for pair in packets.windows(2) {
        assert!(
            pair[0].0 <= pair[1].0,
            "times go backwards: {:?}",
            pair[0].0
        );
    }
    for (time, _) in packets {
        assert!(
            start <= *time && *time <= end,
            "{time:?} not in {start:?}..{end:?}"
        );
    }
}

/// One line per record: its summary and what its TCP checksum holds.
fn describe(packets: &[(Duration, Vec<u8>)]) -> String {
    let mut text = String::new();
    for (n, (_, bytes)) in packets.iter().enumerate() {
        let packet = parse_received(bytes).expect("a well-formed IPv4 + TCP packet");
        let _ = writeln!(
            text,
            "{:>2} {:>2} bytes  {}  checksum {}",
            n + 1,
            bytes.len(),
            packet.summary(),
            packet.checksum_status()
        );
    }
    text
}

/// The records that are our own segments (PSH|ACK), with etherparse's verdict
/// on each TCP checksum: (summary, stored, computed).
fn our_checksums(packets: &[(Duration, Vec<u8>)]) -> Vec<(String, u16, u16)> {
    let mut ours = Vec::new();
    for (_, bytes) in packets {
        let packet = parse_received(bytes).expect("well formed");
        if packet.tcp.flags() != TcpFlags::PSH | TcpFlags::ACK {
            continue;
        }
        let sliced = SlicedPacket::from_ip(bytes).expect("etherparse parses it");
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) =
            (sliced.net, sliced.transport)
        else {
            panic!("etherparse sees no IPv4 + TCP in {bytes:02x?}");
        };
        let header = ip.header();
        let computed = tcp
            .calc_checksum_ipv4(header.source(), header.destination())
            .expect("fits");
        ours.push((packet.summary(), tcp.checksum(), computed));
    }
    ours
}

fn the_pcap_line(output: &Finished, path: &str) -> usize {
    let prefix = "pcap: ";
    let suffix = format!(" packets written to {path}");
    let line = output
        .lines_starting(prefix)
        .into_iter()
        .find(|line| line.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no `pcap: N{suffix}` in\n{}", output.stdout));
    line[prefix.len()..line.len() - suffix.len()]
        .parse()
        .expect("a count")
}

/// Runs the demo with `--pcap` (3 requests, 20 ms apart) and reads the file
/// back; `None` if skipped.
fn demo_capture(test: &str, dir: &TempDir) -> Option<Records> {
    let path = dir.file("echo.pcap");
    let start = SystemTime::now();
    let demo = run({
        let mut command = Command::new(BIN);
        command.args(["--pcap", &path, "--count", "3", "--interval", "20ms"]);
        command
    });
    if demo.skipped(test) {
        return None;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    let packets = read_pcap(&path);
    assert_eq!(the_pcap_line(&demo, &path), packets.len());
    assert_real_times(&packets, start, SystemTime::now());
    Some(packets)
}

#[test]
fn demo_capture_holds_the_whole_exchange_in_order() {
    let test = "demo_capture_holds_the_whole_exchange_in_order";
    let dir = TempDir::new(test);
    let Some(packets) = demo_capture(test, &dir) else {
        return;
    };
    // Per request: the request, the kernel's RST to it (127.0.0.1 has no socket
    // on port 50000), the reply, the kernel's RST to that: in the order they
    // crossed lo, though the two sockets read them in another.
    assert_eq!(packets.len(), 12);
    insta::assert_snapshot!(describe(&packets));
}

#[test]
fn our_segments_in_the_file_have_good_checksums() {
    let test = "our_segments_in_the_file_have_good_checksums";
    let dir = TempDir::new(test);
    let Some(packets) = demo_capture(test, &dir) else {
        return;
    };
    let ours = our_checksums(&packets);
    assert_eq!(ours.len(), 6, "3 requests and 3 replies");
    for (summary, stored, computed) in ours {
        assert_eq!(
            stored, computed,
            "{summary}: etherparse computes another sum"
        );
    }
}

/// The file a client writes while a server answers it, both in the test's
/// namespace.
fn client_capture(server: &[&str], client: &[&str]) -> (Finished, Finished) {
    let mut server = Running::spawn(command(server));
    assert!(server.wait_for("until Ctrl+C"), "the server did not start");
    let client = run(command(client));
    server.signal(Signal::SIGINT);
    (server.finish(), client)
}

#[test]
fn a_client_alone_records_its_own_segments_through_a_mirror() {
    let test = "a_client_alone_records_its_own_segments_through_a_mirror";
    let Some(()) = in_private_network(test, || ()) else {
        return;
    };
    // From here on the test runs in its namespace.
    let dir = TempDir::new(test);
    let path = dir.file("client.pcap");
    let start = SystemTime::now();
    let (server, client) = client_capture(
        &["server", "127.0.0.1", "--peer", "127.0.0.2"],
        &[
            "client",
            "127.0.0.1",
            "--addr",
            "127.0.0.2",
            "--count",
            "2",
            "--interval",
            "20ms",
            "--pcap",
            &path,
        ],
    );
    assert_eq!(client.code(), 0, "{client:?}");
    assert_eq!(server.code(), 0, "{server:?}");
    assert!(
        client.stdout.contains(
            "pcap: a mirror socket, bound to 127.0.0.1, connected to 127.0.0.2"
        ),
        "{}",
        client.stdout
    );
    let packets = read_pcap(&path);
    assert_eq!(the_pcap_line(&client, &path), packets.len());
    assert_real_times(&packets, start, SystemTime::now());
    // The requests and the RSTs from 127.0.0.2 came through the mirror, the
    // replies and the RSTs from 127.0.0.1 through the client's own socket.
    insta::assert_snapshot!(describe(&packets));
    for (summary, stored, computed) in our_checksums(&packets) {
        assert_eq!(stored, computed, "{summary}");
    }
}

#[test]
fn one_address_for_both_needs_no_mirror() {
    let test = "one_address_for_both_needs_no_mirror";
    let Some(()) = in_private_network(test, || ()) else {
        return;
    };
    // From here on the test runs in its namespace.
    let dir = TempDir::new(test);
    let path = dir.file("client.pcap");
    let (server, client) = client_capture(
        &["server", "127.0.0.1"],
        &[
            "client",
            "127.0.0.1",
            "--count",
            "2",
            "--interval",
            "20ms",
            "--pcap",
            &path,
        ],
    );
    assert_eq!(client.code(), 0, "{client:?}");
    assert_eq!(server.code(), 0, "{server:?}");
    assert!(
        !client.stdout.contains("mirror socket"),
        "{}",
        client.stdout
    );
    // 127.0.0.1 to 127.0.0.1 both ways: the client's socket reads it all, its
    // own requests included, each once.
    let packets = read_pcap(&path);
    assert_eq!(the_pcap_line(&client, &path), packets.len());
    insta::assert_snapshot!(describe(&packets));
}

#[test]
fn a_bad_pcap_path_fails_before_anything_is_sent() {
    let demo = run({
        let mut command = Command::new(BIN);
        command.args(["--pcap", "/nonexistent-dir/echo.pcap"]);
        command
    });
    assert_eq!(demo.code(), 1, "{demo:?}");
    assert!(
        demo.stderr.starts_with(
            "error: --pcap: cannot create /nonexistent-dir/echo.pcap: No such file"
        ),
        "{}",
        demo.stderr
    );
    // Not even the namespace was entered: no socket, no packet.
    assert_eq!(demo.stdout, "");
}

#[test]
fn pcap_is_a_usage_error_without_a_file_and_help_documents_it() {
    for args in [
        &["--pcap"][..],
        &["server", "--pcap="],
        &["--pcap", "a", "--pcap", "b"],
    ] {
        let output = run({
            let mut command = Command::new(BIN);
            command.args(args);
            command
        });
        assert_eq!(output.code(), 2, "{args:?}: {output:?}");
        assert!(
            output.stderr.starts_with("error: --pcap "),
            "{}",
            output.stderr
        );
        assert!(
            output.stderr.contains("usage: step-04-echo"),
            "{}",
            output.stderr
        );
    }
    let help = run({
        let mut command = Command::new(BIN);
        command.args(["--help", "--pcap", "/nonexistent-dir/never-created.pcap"]);
        command
    });
    assert_eq!(help.code(), 0, "{help:?}");
    assert!(help.stdout.contains("--pcap FILE"), "{}", help.stdout);
    assert!(help.stdout.contains("LINKTYPE_RAW"), "{}", help.stdout);
}
