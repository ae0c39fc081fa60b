//! The demo at work, in the private network namespace it enters itself: our
//! client with the kernel's `TcpListener`, the kernel's `TcpStream` with our
//! server, and no RST.

mod common;

use common::{Ran, command, run, transitions};
use testkit::{self, PublicCopy, skip};

// ANCHOR: demo
#[test]
fn the_demo_completes_both_connections_with_no_rst() {
    let test = "the_demo_completes_both_connections_with_no_rst";
    let demo = run(command(&[]));
    if demo.skipped(test) {
        return;
    }
    let out = demo.out();
    assert_eq!(demo.code(), 0, "{demo:?}");
    // (a) Our client went through the handshake, the data and the close...
    assert_eq!(
        transitions(&out, "client"),
        [
            "CLOSED -> SYN-SENT",
            "SYN-SENT -> ESTABLISHED",
            "ESTABLISHED -> FIN-WAIT-1",
            "FIN-WAIT-1 -> FIN-WAIT-2",
            "FIN-WAIT-2 -> TIME-WAIT",
            "TIME-WAIT -> CLOSED",
        ]
    );
    // ... its SYN carried our MSS, the kernel's SYN-ACK its own ...
    assert!(out.contains(
        "client:   wrote 127.0.0.2:50001 > 127.0.0.1:50000 [S] seq 0 win 65535 len 0 \
         options [mss 1460]"
    ));
    assert!(out.contains(
        "client:   read  127.0.0.1:50000 > 127.0.0.2:50001 [S.] seq 0 ack 1"
    ));
    assert!(out.contains("client: received 12 bytes: \"Hello client\""));
    // ... and the kernel's server saw an ordinary connection.
    for line in [
        "kernel server: accept() returned a connection from 127.0.0.2:50001",
        "kernel server: read() returned 12 bytes: \"Hello server\"",
        "kernel server: read() returned 0: the client closed its side (its FIN)",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // (b) Our server, from LISTEN.
    assert_eq!(
        transitions(&out, "server"),
        [
            "CLOSED -> LISTEN",
            "LISTEN -> SYN-RECEIVED",
            "SYN-RECEIVED -> ESTABLISHED",
            "ESTABLISHED -> FIN-WAIT-1",
            "FIN-WAIT-1 -> FIN-WAIT-2",
            "FIN-WAIT-2 -> TIME-WAIT",
            "TIME-WAIT -> CLOSED",
        ]
    );
    for line in [
        "kernel client: connect() to 127.0.0.1:50002 returned 0: connected, from 127.0.0.2:50003",
        "kernel client: read() returned 12 bytes: \"Hello client\"",
        "kernel client: read() returned 0: the server closed its side (its FIN)",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
    // Nothing was sent again, and no RST crossed lo.
    assert!(!out.contains("sending it again"), "{out}");
    assert!(out.contains(
        "witness: 18 segments to or from our two ends, RSTs among them: 0"
    ));
}
// ANCHOR_END: demo

// ANCHOR: rule_printed
#[test]
fn the_demo_prints_the_nft_rule_it_installs() {
    let test = "the_demo_prints_the_nft_rule_it_installs";
    let demo = run(command(&[]));
    if demo.skipped(test) {
        return;
    }
    let out = demo.out();
    for port in ["127.0.0.2 tcp sport 50001", "127.0.0.1 tcp sport 50002"] {
        let rule = format!(
            "  nft add rule ip step6 output ip saddr {port} tcp flags rst \
             meta mark != 0x00000006 drop"
        );
        assert!(out.contains(&rule), "{rule}\n{out}");
    }
}
// ANCHOR_END: rule_printed

#[test]
fn the_demo_runs_without_root_in_a_user_namespace() {
    let test = "the_demo_runs_without_root_in_a_user_namespace";
    if !testkit::is_root() {
        skip(
            test,
            "needs root: it switches to uid 65534 to start the demo as another \
             user; run as you, the_demo_completes_both_connections_with_no_rst \
             already showed the demo without root",
        );
        return;
    }
    let copy = PublicCopy::new(common::BIN, test);
    let mut nobody = copy.command_as_nobody();
    nobody.env_remove("SUDO_UID").env_remove("SUDO_GID");
    let demo: Ran = run(nobody);
    if demo.skipped(test) {
        return;
    }
    let out = demo.out();
    assert_eq!(demo.code(), 0, "{demo:?}");
    assert!(
        out.starts_with(
            "namespace: uid 65534 runs as root of a private user+network namespace"
        ),
        "{out}"
    );
    assert!(out.contains(
        "witness: 18 segments to or from our two ends, RSTs among them: 0"
    ));
}
