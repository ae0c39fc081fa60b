//! Real loss: an nftables rule in the test's private namespace drops TCP
//! segments on their way out, and the client must still get every reply, by
//! resending, or give up within its bound and say so. Never a hang.
//!
//! A drop on the OUTPUT hook is told to the writer: `write()` fails with EPERM,
//! and the program counts the segment as lost on its way out (`NOT SENT`). The
//! kernel's own RSTs are dropped alike; nothing depends on them.
//!
//! The same hook silences the kernel: a rule that drops only its RSTs leaves
//! the echo with none to read.
//!
//! Each test runs in a private network namespace of its own, where it loads
//! its rules with `nft` as an ordinary user (it is root of its own user
//! namespace there). Needs `nft` (Debian package `nftables`, installed in
//! `/usr/sbin`); without it the tests say they were skipped and why.

mod common;

use std::time::Duration;

use common::{command, count_after, ignored};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use step_01_socket::{MAX_PACKET, RawSocket, SeqNumber};
use step_02_bind_connect::{
    CLIENT, REQUEST, SERVER, data_segment, open_connected, send,
};
use testkit::{Finished, Running, in_private_network, nft, nft_installed, run};

/// About one TCP segment in five dropped on output, at random.
const DROP_20_PERCENT: &str = "table inet loss {
    chain output {
        type filter hook output priority 0;
        meta l4proto tcp numgen random mod 5 == 0 drop
    }
}";

/// Every TCP segment dropped on output.
const DROP_ALL: &str = "table inet loss {
    chain output {
        type filter hook output priority 0;
        meta l4proto tcp drop
    }
}";

/// The client's summary line.
fn summary(client: &Finished) -> &str {
    client
        .lines_starting("client: sent ")
        .pop()
        .unwrap_or_else(|| panic!("no summary: {client:?}"))
}

/// How many writes a side's summary says the kernel refused.
fn refused(output: &Finished, role: &str) -> u64 {
    output
        .lines_starting(&format!("{role}: writes refused "))
        .pop()
        .and_then(|line| count_after(line, "refused"))
        .unwrap_or(0)
}

/// Starts a server at 127.0.0.1 for a client at 127.0.0.2, runs the client
/// with `client_args` to its end, then stops the server with SIGINT. Both run
/// in the test's namespace, under its rules.
fn echo(client_args: &[&str]) -> (Finished, Finished) {
    let mut server =
        Running::spawn(command(&["server", "127.0.0.1", "--peer", "127.0.0.2"]));
    assert!(server.wait_for("until Ctrl+C"), "the server did not start");
    let mut args = vec!["client", "127.0.0.1", "--addr", "127.0.0.2"];
    args.extend_from_slice(client_args);
    let client = run(command(&args));
    server.signal(Signal::SIGINT);
    (server.finish(), client)
}

#[test]
fn every_message_is_answered_under_20_percent_loss() {
    let test = "every_message_is_answered_under_20_percent_loss";
    if !nft_installed(test) {
        return;
    }
    // A try fails when the request or the reply is dropped: 36 % of the
    // time. Twenty tries leave a request lost with odds of 0.36^20, about one
    // in a billion; the waits (10, 20, 40, then 80 ms) keep the run short.
    const COUNT: u64 = 200;
    let Some((server, client)) = in_private_network(test, || {
        nft(DROP_20_PERCENT);
        echo(&[
            "--count",
            "200",
            "--interval",
            "0",
            "--timeout",
            "10ms",
            "--tries",
            "20",
        ])
    }) else {
        return;
    };
    let line = summary(&client);
    let resent = count_after(line, "resent").unwrap_or(0);
    // The numbers, for the record (`cargo test -- --nocapture` shows them).
    println!("{line}");
    println!("client: ignored {}", ignored_line(&client, "client"));
    println!(
        "client: writes refused {}; server: writes refused {}",
        refused(&client, "client"),
        refused(&server, "server")
    );
    println!("{}", server.lines_starting("server: received ").join("\n"));
    println!("client run took {:?}", client.elapsed);

    assert_eq!(client.code(), 0, "{client:?}");
    assert!(
        line.starts_with(&format!(
            "client: sent {COUNT} requests, {COUNT} replies received, 0 lost"
        )),
        "{line}"
    );
    // Loss happened, and was repaired by resending.
    assert!(resent > 0, "no resend at 20 % loss? {line}");
    assert!(refused(&client, "client") + refused(&server, "server") > 0);
    // Each request answered exactly once, in order: a second reply to a
    // resent request is counted as a duplicate, never as an answer.
    let answers = client.lines_starting("client:   read   ");
    assert_eq!(answers.len() as u64, COUNT, "{}", client.stdout);
    for (k, answer) in answers.iter().enumerate() {
        assert!(
            answer.ends_with(&format!("(answers request {})", k + 1)),
            "{answer}"
        );
    }
    assert_eq!(ignored(&client, "client", "unknown-ack"), 0);
    assert_eq!(ignored(&client, "client", "late"), 0);
    // The server answered each resend with its first reply: its own sequence
    // numbers moved once per request.
    assert_eq!(server.code(), 0, "{server:?}");
    let received = server
        .lines_starting("server: received ")
        .pop()
        .expect("summary");
    assert!(
        received.starts_with(&format!("server: received {COUNT} requests")),
        "{received}"
    );
    let last = answers.last().expect("a reply");
    let last_seq = 1 + 12 * (COUNT - 1);
    assert!(
        last.contains(&format!("[P.] seq {last_seq}:{} ack", last_seq + 12)),
        "{last}"
    );
}

/// A side's last `ignored` line, without its prefix.
fn ignored_line<'a>(output: &'a Finished, role: &str) -> &'a str {
    let prefix = format!("{role}: ignored ");
    let line = output.lines_starting(&prefix).pop().unwrap_or_default();
    line.strip_prefix(&prefix).unwrap_or(line)
}

#[test]
fn under_total_loss_the_client_gives_up_within_its_bound() {
    let test = "under_total_loss_the_client_gives_up_within_its_bound";
    if !nft_installed(test) {
        return;
    }
    // Three tries each, the waits 20, 40 and 80 ms: 140 ms per request, then
    // the next one (ping-pong), so 420 ms for three, and no more.
    let Some((server, client)) = in_private_network(test, || {
        nft(DROP_ALL);
        echo(&[
            "--count",
            "3",
            "--interval",
            "0",
            "--timeout",
            "20ms",
            "--tries",
            "3",
        ])
    }) else {
        return;
    };
    println!("{}", client.stdout);
    println!("client run took {:?}", client.elapsed);
    assert_eq!(client.code(), 1, "{client:?}");
    assert_eq!(
        client.lines_starting("client: no reply to request 1"),
        [
            "client: no reply to request 1 within 20ms: sending it again, try 2 of 3",
            "client: no reply to request 1 within 40ms: sending it again, try 3 of 3",
            "client: no reply to request 1 (seq 1) after 3 tries over 140ms",
        ]
    );
    assert_eq!(client.lines_starting("client: no reply").len(), 9);
    assert_eq!(
        summary(&client),
        "client: sent 3 requests, 0 replies received, 3 lost, resent 6"
    );
    // Every write refused by the rule, each one said so; the first time with
    // the likely cause.
    assert_eq!(refused(&client, "client"), 9);
    assert_eq!(client.lines_starting("client:   NOT SENT ").len(), 9);
    assert!(
        client
            .stdout
            .contains("a firewall rule in the OUTPUT chain"),
        "{}",
        client.stdout
    );
    assert!(client.elapsed.as_millis() >= 420, "{:?}", client.elapsed);
    // Nothing reached the server.
    assert!(
        server
            .stdout
            .contains("server: received 0 requests, sent 0 replies"),
        "{}",
        server.stdout
    );
}

/// Every TCP segment to the server's address and port dropped on output.
const DROP_TO_SERVER: &str = "table ip drop_to_server {
    chain output {
        type filter hook output priority 0;
        ip daddr 127.0.0.1 tcp dport 50000 drop
    }
}";

/// The next segment `socket` reads within its timeout, if any.
fn next_read(socket: &RawSocket) -> Option<Vec<u8>> {
    let mut buf = vec![0; MAX_PACKET];
    let len = socket.recv(&mut buf).ok()?;
    Some(buf[..len].to_vec())
}

#[test]
fn a_write_dropped_by_nft_fails_with_eperm() {
    let test = "a_write_dropped_by_nft_fails_with_eperm";
    if !nft_installed(test) {
        return;
    }
    // A client's raw socket writes the first request twice: before and after
    // an OUTPUT rule that drops it. A witness at the server's address reads
    // what arrives from the client's.
    let request = data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST);
    let Some((before, arrived, after, arrived_after)) =
        in_private_network(test, || {
            let client =
                open_connected(CLIENT, SERVER).expect("the client's socket");
            let witness = open_connected(SERVER, CLIENT).expect("the witness");
            witness
                .set_recv_timeout(Duration::from_millis(300))
                .expect("SO_RCVTIMEO");
            let before = send(&client, &request).map_err(|e| e.errno);
            let arrived = next_read(&witness);
            nft(DROP_TO_SERVER);
            let after = send(&client, &request).map_err(|e| e.errno);
            (before, arrived, after, next_read(&witness))
        })
    else {
        return;
    };
    // Without the rule the write succeeds and the segment goes out.
    assert_eq!(before, Ok(()));
    let arrived = arrived.expect("the first request reached 127.0.0.1");
    assert_eq!(&arrived[20..], &request[..]);
    // With it, write() itself fails with EPERM, and nothing is sent.
    assert_eq!(after, Err(Errno::EPERM));
    assert_eq!(arrived_after, None, "a dropped segment arrived");
}

/// The kernel's RSTs, and only them, dropped on output: those from the
/// server's address and port (to the client's requests) and from the
/// client's (to the server's replies). The kernel still builds them.
const DROP_THE_KERNELS_RSTS: &str = "table ip quiet {
    chain output {
        type filter hook output priority 0;
        ip saddr . tcp sport { 127.0.0.1 . 50000, 127.0.0.2 . 50001 } tcp flags rst drop
    }
}";

#[test]
fn an_nft_rule_dropping_the_kernels_rsts_leaves_zero_rsts_per_round_trip() {
    let test =
        "an_nft_rule_dropping_the_kernels_rsts_leaves_zero_rsts_per_round_trip";
    if !nft_installed(test) {
        return;
    }
    const COUNT: u64 = 20;
    let args = ["--count", "20", "--interval", "0"];
    // The same echo twice in one namespace: without the rule, then with it.
    let Some((loud, quiet)) = in_private_network(test, || {
        let loud = echo(&args);
        nft(DROP_THE_KERNELS_RSTS);
        (loud, echo(&args))
    }) else {
        return;
    };
    for (name, (server, client)) in [("without", &loud), ("with", &quiet)] {
        println!("{name} the rule:\n{}", summary(client));
        println!("client: ignored {}", ignored_line(client, "client"));
        println!("server: ignored {}", ignored_line(server, "server"));
        assert_eq!(client.code(), 0, "{name} the rule: {client:?}");
        assert_eq!(server.code(), 0, "{name} the rule: {server:?}");
        // Every message answered, at the first try.
        assert_eq!(
            summary(client),
            format!(
                "client: sent {COUNT} requests, {COUNT} replies received, 0 lost"
            ),
            "{name} the rule"
        );
        assert!(
            server.stdout.contains(&format!(
                "server: received {COUNT} requests, sent {COUNT} replies"
            )),
            "{name} the rule: {}",
            server.stdout
        );
        assert_eq!(refused(client, "client") + refused(server, "server"), 0);
    }
    // Without the rule, one RST per round trip on each side: the kernel's
    // answer to each segment the side wrote.
    let (server, client) = &loud;
    assert_eq!(ignored(client, "client", "kernel-rst"), COUNT);
    assert_eq!(ignored(server, "server", "kernel-rst"), COUNT);
    // With it, none: 0 RSTs per round trip, on both sides.
    let (server, client) = &quiet;
    assert_eq!(ignored(client, "client", "kernel-rst"), 0);
    assert_eq!(ignored(server, "server", "kernel-rst"), 0);
}
