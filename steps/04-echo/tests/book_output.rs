//! The program output chapter 4 shows, made by running the program as the book
//! says. The book includes these snapshots, so what it shows is what the code
//! prints today; a change in the output fails here until the snapshot is
//! reviewed again.

mod common;

use std::process::Command;

use common::{BIN, command};
use nix::sys::signal::Signal;
use step_01_socket::SeqNumber;
use step_02_bind_connect::{CLIENT, REQUEST, SERVER};
use testkit::{
    Finished, Injector, Running, in_private_network, ipv4_with_options, nft,
    nft_installed, run, with_ipv4_header,
};

/// The demo's first line says whose namespace it made, which differs between
/// root ("a private network namespace ...") and an ordinary user ("uid N runs
/// as root of a private user+network namespace ..."): the book says both.
const NAMESPACE_LINE: (&str, &str) =
    (r"(?m)^namespace: .*$", "namespace: [private]");

/// The demo with `args`, started as `cargo run -p step-04-echo -- args` would,
/// not through sudo; `None` if no namespace could be entered (said as a skip).
fn run_demo(test: &str, args: &[&str]) -> Option<Finished> {
    let mut demo = command(args);
    demo.env_remove("SUDO_UID").env_remove("SUDO_GID");
    let demo = run(demo);
    if demo.skipped(test) {
        return None;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    Some(demo)
}

#[test]
fn demo() {
    let Some(demo) = run_demo("demo", &[]) else {
        return;
    };
    insta::with_settings!({filters => vec![NAMESPACE_LINE]}, {
        insta::assert_snapshot!("demo", demo.stdout);
    });
}

#[test]
fn demo_verbose() {
    let Some(demo) = run_demo("demo_verbose", &["--count", "2", "-v"]) else {
        return;
    };
    insta::with_settings!({filters => vec![NAMESPACE_LINE]}, {
        insta::assert_snapshot!("demo_verbose", demo.stdout);
    });
}

/// The two terminals of the book: `server 127.0.0.1 -v`, then
/// `client 127.0.0.1 --count 3 -v`, then Ctrl+C to the server; both in one
/// private namespace, as `scripts/netns.sh` makes it.
#[test]
fn two_terminals() {
    let Some((server, client)) = in_private_network("two_terminals", || {
        let mut server = Running::spawn(command(&["server", "127.0.0.1", "-v"]));
        assert!(server.wait_for("server: answering"), "the server started");
        let client = run(command(&["client", "127.0.0.1", "--count", "3", "-v"]));
        server.signal(Signal::SIGINT);
        (server.finish(), client)
    }) else {
        return;
    };
    assert_eq!(client.code(), 0, "{client:?}");
    assert_eq!(server.code(), 0, "{server:?}");
    insta::assert_snapshot!("two_terminals_client", client.stdout);
    insta::assert_snapshot!("two_terminals_server", server.stdout);
}

#[test]
fn client_without_a_server() {
    let Some(client) = in_private_network("client_without_a_server", || {
        run(command(&[
            "client",
            "127.0.0.1",
            "--count",
            "2",
            "--timeout",
            "100ms",
            "--tries",
            "3",
        ]))
    }) else {
        return;
    };
    assert_eq!(client.code(), 1, "{client:?}");
    insta::assert_snapshot!("client_without_a_server", client.stdout);
}

/// `server 127.0.0.1` without CAP_NET_RAW. `unshare --user` puts it in a new
/// user namespace that holds no capability over the current network, which is
/// what an ordinary user outside any namespace has, and for root as well.
#[test]
fn without_cap_net_raw() {
    let mut server = Command::new("unshare");
    server.args(["--user", BIN, "server", "127.0.0.1"]);
    let server = run(server);
    assert_eq!(server.code(), 1, "{server:?}");
    insta::assert_snapshot!("without_cap_net_raw", server.stderr);
}

/// A fresh namespace whose `lo` is still down: the `ip link set lo up` that
/// `scripts/netns.sh` does, forgotten.
#[test]
fn lo_down() {
    let mut client = Command::new("unshare");
    client.args(["--user", "--map-root-user", "--net", BIN]);
    client.args(["client", "127.0.0.1", "--count", "1"]);
    let client = run(client);
    if client.skipped("lo_down") {
        return;
    }
    assert_eq!(client.code(), 1, "{client:?}");
    insta::assert_snapshot!("lo_down", client.stderr);
}

#[test]
fn not_a_loopback_address() {
    let Some(server) = in_private_network("not_a_loopback_address", || {
        run(command(&["server", "10.0.0.1"]))
    }) else {
        return;
    };
    assert_eq!(server.code(), 2, "{server:?}");
    assert_eq!(server.stdout, "", "refused before anything is opened");
    insta::assert_snapshot!("not_a_loopback_address", server.stderr);
}

/// When things go wrong, when nothing gets through: an nft rule drops every TCP segment
/// on its way out, and the client tries three requests three times each.
#[test]
fn total_loss() {
    let test = "total_loss";
    if !nft_installed(test) {
        return;
    }
    let Some(client) = in_private_network(test, || {
        nft("table inet loss {\n\
               chain output {\n\
                 type filter hook output priority 0;\n\
                 meta l4proto tcp drop\n\
               }\n\
             }\n");
        run(command(&[
            "client",
            "127.0.0.1",
            "--addr",
            "127.0.0.2",
            "--count",
            "3",
            "--interval",
            "0",
            "--timeout",
            "20ms",
            "--tries",
            "3",
        ]))
    }) else {
        return;
    };
    assert_eq!(client.code(), 1, "{client:?}");
    insta::assert_snapshot!("total_loss", client.stdout);
}

/// When things go wrong, hostile input: `server 127.0.0.1 --peer 127.0.0.2 -v` is sent
/// four malformed packets, then a good request behind IPv4 options, written
/// whole by an `IPPROTO_RAW` socket; then SIGINT. The packets are those of
/// `tests/hostile.rs`, which checks what comes back on the wire.
#[test]
fn hostile_input() {
    let Some(server) = in_private_network("hostile_input", || {
        let request = step_02_bind_connect::data_segment(
            CLIENT,
            SERVER,
            SeqNumber(1),
            SeqNumber(1),
            REQUEST,
        );
        let packet = |segment: &[u8]| {
            with_ipv4_header(*CLIENT.ip(), *SERVER.ip(), 0x1234, segment)
        };
        let mut short_offset = request.clone();
        short_offset[12] = 0x40; // data offset 4 words
        let mut long_offset = request.clone();
        long_offset[12] = 0xf0; // data offset 15 words in a 32-byte segment
        let mut damaged = request.clone();
        damaged[17] ^= 0x01; // the checksum's last bit flipped
        let options = [0x01, 0x01, 0x01, 0x00]; // NOP, NOP, NOP, end: IHL 6
        let packets = [
            packet(&request[..10]), // the TCP header cut after 10 bytes
            packet(&short_offset),
            packet(&long_offset),
            packet(&damaged),
            ipv4_with_options(
                *CLIENT.ip(),
                *SERVER.ip(),
                0x1235,
                &options,
                &request,
            ),
        ];
        let mut server = Running::spawn(command(&[
            "server",
            "127.0.0.1",
            "--peer",
            "127.0.0.2",
            "-v",
        ]));
        assert!(server.wait_for("until Ctrl+C"), "the server started");
        let injector =
            Injector::open().expect("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
        for packet in &packets {
            injector.send(packet).expect("sendto");
        }
        assert!(server.wait_for("server:   wrote"), "a reply written");
        server.signal(Signal::SIGINT);
        server.finish()
    }) else {
        return;
    };
    assert_eq!(server.code(), 0, "{server:?}");
    insta::assert_snapshot!("hostile_input", server.stdout);
}

/// The line the demo prints when it was started through sudo and gives root
/// up: played as the tests do, as root with `SUDO_UID` and `SUDO_GID` set, for
/// step 4's page (uid 1001) and When things go wrong (uid 65534).
#[test]
fn privileges_line_after_sudo() {
    let test = "privileges_line_after_sudo";
    if !testkit::is_root() {
        testkit::skip(
            test,
            "needs root: its subject is root giving itself up after sudo; \
             the README's root-only command runs it through sudo",
        );
        return;
    }
    for uid in ["1001", "65534"] {
        let mut demo = command(&["--count", "1"]);
        demo.env("SUDO_UID", uid).env("SUDO_GID", uid);
        let demo = run(demo);
        if demo.skipped(test) {
            return;
        }
        assert_eq!(demo.code(), 0, "{demo:?}");
        let line = demo.lines_starting("privileges: ").join("\n");
        insta::assert_snapshot!(format!("privileges_line_{uid}"), line);
    }
}

/// Seeing the packets: the demo recorded with `--pcap` (3 requests, `-v`), read back by
/// tshark with checksum validation on, in the table `scripts/capture.sh`
/// prints: the same tshark fields and the same column widths.
#[test]
fn capture_table() {
    let test = "capture_table";
    let Some(tshark) = testkit::find_program("tshark") else {
        testkit::skip(
            test,
            "`tshark` is not installed (Debian: apt-get install \
             --no-install-recommends tshark; .ci/run installs it)",
        );
        return;
    };
    let dir =
        std::env::temp_dir().join(format!("book-output-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let pcap = dir.join("echo.pcap");
    let pcap_arg = pcap.to_str().expect("a UTF-8 path");
    let demo = run(command(&["--pcap", pcap_arg, "--count", "3", "-v"]));
    if demo.skipped(test) {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    let fields = [
        "frame.number",
        "ip.src",
        "tcp.srcport",
        "ip.dst",
        "tcp.dstport",
        "tcp.flags.str",
        "tcp.seq_raw",
        "tcp.ack_raw",
        "tcp.len",
        "tcp.checksum",
        "tcp.checksum.status",
    ];
    let mut tshark = Command::new(tshark);
    tshark.args([
        "-r",
        pcap_arg,
        "-o",
        "tcp.check_checksum:TRUE",
        "-T",
        "fields",
    ]);
    for field in fields {
        tshark.args(["-e", field]);
    }
    let out = tshark.output().expect("tshark runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    let header =
        "no.\tsrc\tsport\tdst\tdport\tflags\tseq\tack\tlen\tchecksum\tstatus";
    let rows = String::from_utf8(out.stdout).expect("UTF-8");
    let mut table = String::new();
    for row in std::iter::once(header).chain(rows.lines()) {
        let c: Vec<&str> = row.split('\t').collect();
        assert_eq!(c.len(), 11, "{row}");
        // The widths of the awk printf in scripts/capture.sh; awk pads by
        // characters, as format! does.
        table += &format!(
            "{:<3} {:<9} {:<5} {:<9} {:<5} {:<12} {:<10} {:<10} {:<3} {:<8} {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
        );
    }
    insta::assert_snapshot!("capture_table", table);
}
