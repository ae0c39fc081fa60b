//! Runs the chapter's binary and checks the story it tells with real packets:
//! who reads the request, who reads the kernel's RST, what an unfiltered
//! socket reads, what changes when both ends share 127.0.0.1, and that
//! bind()'s port filters nothing.
//!
//! The binary enters a private network namespace first thing; where the
//! system forbids that, each test prints `skipped: ...` and passes.

use std::process::{Command, Output};
use std::sync::OnceLock;

use testkit::{PublicCopy, namespace_refused, skip};

const BIN: &str = env!("CARGO_BIN_EXE_step-02-bind-connect");

const REQUEST_A: &str =
    "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12";
const RST_A: &str = "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1 win 0 len 0";
const REQUEST_B: &str =
    "TCP 127.0.0.1:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12";
const RST_B: &str = "TCP 127.0.0.1:50000 > 127.0.0.1:50001 [R] seq 1 win 0 len 0";
const REPLY_B: &str =
    "TCP 127.0.0.1:50000 > 127.0.0.1:50001 [P.] seq 1:13 ack 13 win 65535 len 12";
const REPLY_RST_B: &str =
    "TCP 127.0.0.1:50001 > 127.0.0.1:50000 [R] seq 13 win 0 len 0";

/// What one run printed, or why it could not run here.
enum Run {
    Told(Story),
    Skipped(String),
}

/// Runs the binary; a refused namespace is a skip, any other failure a panic.
fn run(command: &mut Command) -> Run {
    let output = testkit::output(command);
    if let Some(why) = namespace_refused(&output) {
        return Run::Skipped(why);
    }
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!("{}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    }
    Run::Told(Story(stdout))
}

/// The story as the current user runs it, run once for all tests.
fn story(test: &str) -> Option<&'static Story> {
    static RUN: OnceLock<Run> = OnceLock::new();
    match RUN.get_or_init(|| run(&mut Command::new(BIN))) {
        Run::Told(story) => Some(story),
        Run::Skipped(why) => {
            skip(test, why);
            None
        }
    }
}

/// The binary's standard output.
struct Story(String);

impl Story {
    /// The text from the heading `== {scenario}:` to the next heading.
    fn section(&self, scenario: &str) -> &str {
        let heading = format!("\n== {scenario}:");
        let start = self
            .0
            .find(&heading)
            .unwrap_or_else(|| panic!("no heading {heading:?} in:\n{}", self.0));
        let rest = &self.0[start + 1..];
        let end = rest.find("\n== ").map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }

    /// What `socket` read in `scenario`, in order: (verdict, summary).
    fn reads(&self, scenario: &str, socket: &str) -> Vec<(String, String)> {
        let mut reads = Vec::new();
        for line in self.section(scenario).lines() {
            let Some(line) = line.strip_prefix("  ") else {
                continue;
            };
            let Some((name, rest)) = line.split_once(' ') else {
                continue;
            };
            let Some((verdict, summary)) = rest.trim_start().split_once(' ') else {
                continue;
            };
            let summary = summary.trim_start();
            if name == socket && summary.starts_with("TCP ") {
                reads.push((verdict.to_owned(), summary.to_owned()));
            }
        }
        reads
    }

    /// The closing table's row for `socket` ("A server"): the counts of
    /// from-peer, kernel-rst, own-copy, foreign, unsorted, and the total.
    fn table_row(&self, socket: &str) -> Vec<usize> {
        let table = &self.0[self.0.find("\n== packets read").expect("a table")..];
        let row = table
            .lines()
            .find_map(|line| line.trim_start().strip_prefix(socket))
            .unwrap_or_else(|| panic!("no row {socket:?} in:\n{table}"));
        row.split_whitespace()
            .map(|n| n.parse().expect("a count"))
            .collect()
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(v, s)| (v.to_string(), s.to_string()))
        .collect()
}

#[test]
fn enters_a_private_namespace_first() {
    let Some(story) = story("enters_a_private_namespace_first") else {
        return;
    };
    assert!(story.0.starts_with("namespace: "), "{}", story.0);
}

#[test]
fn writes_exactly_header_and_payload_with_a_correct_checksum() {
    let Some(story) =
        story("writes_exactly_header_and_payload_with_a_correct_checksum")
    else {
        return;
    };
    let a = story.section("A");
    assert!(
        a.contains(&format!("client writes 32 bytes: {REQUEST_A}")),
        "{a}"
    );
    assert!(a.contains("checksum 0xbbd8 (correct)"), "{a}");
    assert!(a.contains("\"Hello se\""), "{a}");
}

#[test]
fn a_server_socket_reads_the_request_as_from_peer_and_no_rst() {
    let Some(story) =
        story("a_server_socket_reads_the_request_as_from_peer_and_no_rst")
    else {
        return;
    };
    // bind(127.0.0.1) keeps the RST, sent to 127.0.0.2, away.
    assert_eq!(
        story.reads("A", "server"),
        pairs(&[("from-peer", REQUEST_A)])
    );
}

#[test]
fn a_client_socket_reads_the_rst_as_kernel_rst_and_not_its_request() {
    let Some(story) =
        story("a_client_socket_reads_the_rst_as_kernel_rst_and_not_its_request")
    else {
        return;
    };
    // bind(127.0.0.2) keeps its own request, sent to 127.0.0.1, away.
    assert_eq!(story.reads("A", "client"), pairs(&[("kernel-rst", RST_A)]));
}

#[test]
fn a_watcher_without_bind_or_connect_reads_both() {
    let Some(story) = story("a_watcher_without_bind_or_connect_reads_both") else {
        return;
    };
    assert_eq!(
        story.reads("A", "watcher"),
        pairs(&[("-", REQUEST_A), ("-", RST_A)])
    );
}

#[test]
fn b_each_socket_reads_its_own_segment_back() {
    let Some(story) = story("b_each_socket_reads_its_own_segment_back") else {
        return;
    };
    let server = story.reads("B", "server");
    let client = story.reads("B", "client");
    assert!(
        server.contains(&("own-copy".into(), REPLY_B.into())),
        "{server:?}"
    );
    assert!(
        client.contains(&("own-copy".into(), REQUEST_B.into())),
        "{client:?}"
    );
}

#[test]
fn b_each_socket_reads_everything_only_ports_sort_it() {
    let Some(story) = story("b_each_socket_reads_everything_only_ports_sort_it")
    else {
        return;
    };
    assert_eq!(
        story.reads("B", "server"),
        pairs(&[
            ("from-peer", REQUEST_B),
            ("kernel-rst", RST_B),
            ("own-copy", REPLY_B),
            ("kernel-rst", REPLY_RST_B),
        ])
    );
    assert_eq!(
        story.reads("B", "client"),
        pairs(&[
            ("own-copy", REQUEST_B),
            ("kernel-rst", RST_B),
            ("from-peer", REPLY_B),
            ("kernel-rst", REPLY_RST_B),
        ])
    );
}

#[test]
fn c_a_socket_bound_to_port_9_reads_port_50000_traffic() {
    let Some(story) = story("c_a_socket_bound_to_port_9_reads_port_50000_traffic")
    else {
        return;
    };
    let c = story.section("C");
    assert!(c.contains("port-9   bind(127.0.0.1:9)"), "{c}");
    // The kernel delivered it; only classify() looks at the ports.
    assert_eq!(story.reads("C", "port-9"), pairs(&[("foreign", REQUEST_A)]));
}

#[test]
fn the_closing_table_counts_what_was_read() {
    let Some(story) = story("the_closing_table_counts_what_was_read") else {
        return;
    };
    //                       from-peer kernel-rst own-copy foreign unsorted total
    assert_eq!(story.table_row("A server"), [1, 0, 0, 0, 0, 1]);
    assert_eq!(story.table_row("A client"), [0, 1, 0, 0, 0, 1]);
    assert_eq!(story.table_row("A watcher"), [0, 0, 0, 0, 2, 2]);
    assert_eq!(story.table_row("B server"), [1, 2, 1, 0, 0, 4]);
    assert_eq!(story.table_row("B client"), [1, 2, 1, 0, 0, 4]);
    assert_eq!(story.table_row("C port-9"), [0, 0, 0, 1, 0, 1]);
}

fn usage_error(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary starts")
}

#[test]
fn bad_flags_print_usage_and_exit_2() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff");
    for args in [
        vec!["--bogus".as_ref()],
        vec!["--help".as_ref(), "extra".as_ref()],
        vec![not_utf8],
    ] {
        let output = usage_error(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("unknown argument"), "{stderr}");
        assert!(stderr.contains("usage: step-02-bind-connect"), "{stderr}");
        assert!(
            output.stdout.is_empty(),
            "no packets before the flags are good"
        );
    }
}

#[test]
fn help_prints_usage_and_exits_0() {
    let output = usage_error(&["--help".as_ref()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout.starts_with("usage: step-02-bind-connect"),
        "{stdout}"
    );
}

#[test]
fn as_nobody_without_sudo_it_tells_the_same_story() {
    let test = "as_nobody_without_sudo_it_tells_the_same_story";
    if !testkit::is_root() {
        skip(test, "needs root: only root can switch to uid 65534");
        return;
    }
    // The checkout may sit under a 0700 home: run a copy from a 0755 dir.
    let copy = PublicCopy::new(BIN, test);
    let story = match run(&mut copy.command_as_nobody()) {
        Run::Told(story) => story,
        Run::Skipped(why) => {
            skip(test, &why);
            return;
        }
    };
    assert!(
        story
            .0
            .starts_with("namespace: uid 65534 runs as root of a private"),
        "{}",
        story.0
    );
    assert_eq!(
        story.reads("A", "server"),
        pairs(&[("from-peer", REQUEST_A)])
    );
    assert_eq!(story.reads("A", "client"), pairs(&[("kernel-rst", RST_A)]));
    assert_eq!(story.table_row("B client"), [1, 2, 1, 0, 0, 4]);
}
