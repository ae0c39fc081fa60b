//! Real loss: an nftables rule in the test's private namespace drops TCP
//! segments on their way out, and the client must still get every reply, by
//! resending, or give up within its bound and say so. Never a hang.
//!
//! A drop on the OUTPUT hook is told to the writer: `write()` fails with EPERM,
//! and the program counts the segment as lost on its way out (`NOT SENT`). The
//! kernel's own RSTs are dropped alike; nothing depends on them.
//!
//! Each test runs in a private network namespace of its own, where it loads
//! its rules with `nft` as an ordinary user (it is root of its own user
//! namespace there). Needs `nft` (Debian package `nftables`, installed in
//! `/usr/sbin`); without it the tests say they were skipped and why.

mod common;

use common::{
    Finished, Running, command, count_after, ignored, nft, nft_installed, run,
};
use nix::sys::signal::Signal;
use step_01_socket::testing::in_private_network;

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
