//! The binary at work: the demo in its own namespace, and the server and client
//! modes in a namespace each test runs in (never the host's), as an ordinary
//! user as well as root.

mod common;

use std::process::Command;

use common::{BIN, command};
use nix::sys::signal::Signal;
use testkit::{
    Finished, PublicCopy, Running, find_program, in_private_network, run, shell,
    skip,
};

/// The count after `reason ` in a summary's `ignored` line, e.g. `foreign 3`.
fn ignored(output: &Finished, role: &str, reason: &str) -> u64 {
    let prefix = format!("{role}: ignored ");
    let line = output
        .lines_starting(&prefix)
        .pop()
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{}", output.stdout));
    line[prefix.len()..]
        .split(", ")
        .find_map(|item| item.strip_prefix(&format!("{reason} ")))
        .map(|n| n.parse().expect("a count"))
        .unwrap_or(0)
}

/// Checks that the client's replies are exactly requests 1..=n, in order, each
/// `Hello client` from the server's address and port.
fn assert_replies(client: &Finished, n: u64, server: &str, me: &str) {
    let received = client.lines_starting("client: Received : ");
    assert_eq!(received.len() as u64, n, "{}", client.stdout);
    assert!(
        received
            .iter()
            .all(|l| *l == "client: Received : Hello client")
    );
    let reads = client.lines_starting("client:   read   ");
    assert_eq!(reads.len() as u64, n, "{}", client.stdout);
    for (k, line) in reads.iter().enumerate() {
        assert!(
            line.contains(&format!("TCP {server} > {me} [P.]")),
            "a reply from elsewhere: {line}"
        );
        assert!(
            line.ends_with(&format!("(answers request {})", k + 1)),
            "out of order: {line}"
        );
    }
}

#[test]
fn demo_exchanges_five_messages() {
    let demo = run(Command::new(BIN));
    if demo.skipped("demo_exchanges_five_messages") {
        return;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    assert_eq!(
        demo.lines_starting("server: Received : Hello server").len(),
        5
    );
    assert_replies(&demo, 5, "127.0.0.1:50000", "127.0.0.2:50001");
    assert!(
        demo.stdout
            .contains("client: sent 5 requests, 5 replies received, 0 lost")
    );
    assert!(
        demo.stdout
            .contains("server: received 5 requests, sent 5 replies")
    );
    // The kernel resets each hand-made segment, once: the kernel at the
    // segment's destination has no socket on its port. Each side reads one
    // RST per segment it wrote (its socket is connected to the address the
    // RST comes from), and takes none of them for a reply.
    let requests = demo.lines_starting("client:   wrote  ").len();
    let replies = demo.lines_starting("server:   wrote  ").len();
    assert_eq!((requests, replies), (5, 5), "{}", demo.stdout);
    assert_eq!(ignored(&demo, "client", "kernel-rst"), requests as u64);
    assert_eq!(ignored(&demo, "server", "kernel-rst"), replies as u64);
    // The whole story, pinned. The namespace line depends on who runs it, and
    // under `sudo cargo test` a privileges line appears after the setup.
    insta::with_settings!({filters => vec![
        (r"(?m)^namespace: .*$", "namespace: [private]"),
        (r"(?m)^privileges: .*\n", ""),
    ]}, {
        insta::assert_snapshot!(demo.stdout);
    });
}

#[test]
fn demo_runs_without_root_in_a_user_namespace() {
    let test = "demo_runs_without_root_in_a_user_namespace";
    if !testkit::is_root() {
        skip(
            test,
            "needs root: it switches to uid 65534 to start the demo as another \
             user; run as you, demo_exchanges_five_messages already showed the \
             demo without root",
        );
        return;
    }
    let copy = PublicCopy::new(BIN, test);
    let mut command = copy.command_as_nobody();
    command.args(["--count", "2"]);
    let demo = match Running::try_spawn(command) {
        Ok(running) => running.finish(),
        // Where uid 65534 does not exist (an unmapped user namespace).
        Err(error) => {
            skip(
                test,
                &format!("cannot start the demo as uid 65534: {error}"),
            );
            return;
        }
    };
    if demo.skipped(test) {
        return;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    assert!(
        demo.stdout.starts_with(
            "namespace: uid 65534 runs as root of a private user+network namespace"
        ),
        "{}",
        demo.stdout
    );
    assert_replies(&demo, 2, "127.0.0.1:50000", "127.0.0.2:50001");
}

#[test]
fn demo_stops_on_sigterm_with_a_summary() {
    let mut demo = Running::spawn({
        let mut command = Command::new(BIN);
        command.args(["--count", "1000", "--interval", "20ms"]);
        command
    });
    if !demo.wait_for("(answers request 2)") {
        let demo = demo.finish();
        if demo.skipped("demo_stops_on_sigterm_with_a_summary") {
            return;
        }
        panic!("no second reply: {demo:?}");
    }
    demo.signal(Signal::SIGTERM);
    let demo = demo.finish();
    assert_eq!(demo.code(), 0, "{demo:?}");
    assert!(demo.stdout.contains("signal: SIGTERM received, stopping"));
    assert_eq!(demo.lines_starting("client: sent ").len(), 1);
    assert_eq!(demo.lines_starting("server: received ").len(), 1);
}

/// Starts a server, waits until it is ready, runs a client to its end, then
/// stops the server with SIGINT. Both inherit the test's namespace.
fn echo(server: &[&str], client: &[&str]) -> (Finished, Finished) {
    let mut server = Running::spawn(command(server));
    assert!(server.wait_for("until Ctrl+C"), "the server did not start");
    let client = run(command(client));
    server.signal(Signal::SIGINT);
    (server.finish(), client)
}

#[test]
fn server_and_client_on_the_same_address() {
    let test = "server_and_client_on_the_same_address";
    let Some((server, client)) = in_private_network(test, || {
        echo(
            &["server", "127.0.0.1"],
            &["client", "127.0.0.1", "--count", "3", "--interval", "20ms"],
        )
    }) else {
        return;
    };
    assert_eq!(client.code(), 0, "{client:?}");
    assert_replies(&client, 3, "127.0.0.1:50000", "127.0.0.1:50001");
    assert_eq!(server.code(), 0, "{server:?}");
    assert_eq!(
        server
            .lines_starting("server: Received : Hello server")
            .len(),
        3
    );
    assert!(
        server
            .stdout
            .contains("server: received 3 requests, sent 3 replies")
    );
    // One address for both: each socket also reads its own segments back, and
    // the kernel's RSTs in both directions, and tells them apart by port.
    assert_eq!(ignored(&client, "client", "own-copy"), 3);
    assert_eq!(ignored(&server, "server", "own-copy"), 3);
    assert_eq!(ignored(&client, "client", "kernel-rst"), 6);
}

#[test]
fn server_and_client_on_different_addresses() {
    let test = "server_and_client_on_different_addresses";
    let Some((server, client)) = in_private_network(test, || {
        echo(
            &["server", "127.0.0.1", "--peer", "127.0.0.2"],
            &[
                "client",
                "127.0.0.1",
                "--addr",
                "127.0.0.2",
                "--count",
                "3",
                "--interval",
                "20ms",
            ],
        )
    }) else {
        return;
    };
    assert_eq!(client.code(), 0, "{client:?}");
    assert_replies(&client, 3, "127.0.0.1:50000", "127.0.0.2:50001");
    assert_eq!(server.code(), 0, "{server:?}");
    assert!(
        server
            .stdout
            .contains("server: received 3 requests, sent 3 replies")
    );
    // bind() and connect() now filter by address: no own copies get through.
    assert_eq!(ignored(&client, "client", "own-copy"), 0);
    assert_eq!(ignored(&server, "server", "own-copy"), 0);
}

#[test]
fn kernel_tcp_on_another_port_is_counted_as_foreign() {
    let test = "kernel_tcp_on_another_port_is_counted_as_foreign";
    if find_program("bash").is_none() {
        skip(
            test,
            "bash is not installed (its /dev/tcp makes the traffic)",
        );
        return;
    }
    let Some((server, client)) = in_private_network(test, || {
        // The kernel's own TCP on 127.0.0.1: connection attempts to port 7,
        // where nothing listens (SYN, then the kernel's RST|ACK), all through
        // the echo.
        let noise = Running::spawn(shell(
            "for i in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/7) 2>/dev/null; sleep 0.005; done",
        ));
        let outputs = echo(
            &["server", "127.0.0.1", "-v"],
            &[
                "client",
                "127.0.0.1",
                "--count",
                "20",
                "--interval",
                "20ms",
                "-v",
            ],
        );
        drop(noise);
        outputs
    }) else {
        return;
    };
    assert_eq!(client.code(), 0, "{client:?}");
    assert!(
        client
            .stdout
            .contains("client: sent 20 requests, 20 replies received, 0 lost")
    );
    assert_replies(&client, 20, "127.0.0.1:50000", "127.0.0.1:50001");
    assert!(
        server
            .stdout
            .contains("server: received 20 requests, sent 20 replies")
    );
    assert!(
        ignored(&client, "client", "foreign") > 0,
        "{}",
        client.stdout
    );
    assert!(
        ignored(&server, "server", "foreign") > 0,
        "{}",
        server.stdout
    );
    // Seen, named, and never answered or matched.
    assert!(
        client.stdout.contains("> 127.0.0.1:7 [S]"),
        "{}",
        client.stdout
    );
    for reason in ["unknown-ack", "duplicate", "late", "no-payload"] {
        assert_eq!(ignored(&client, "client", reason), 0, "{reason}");
    }
}

#[test]
fn sigint_ends_server_and_client_with_a_summary() {
    let test = "sigint_ends_server_and_client_with_a_summary";
    let Some((server, client)) = in_private_network(test, || {
        let mut server = Running::spawn(command(&["server", "127.0.0.1"]));
        assert!(server.wait_for("until Ctrl+C"));
        // No --count: the client runs until it is stopped.
        let mut client =
            Running::spawn(command(&["client", "127.0.0.1", "--interval", "20ms"]));
        assert!(client.wait_for("(answers request 2)"));
        // The pids we signal are the binary's own, not a wrapper's.
        for pid in [server.pid(), client.pid()] {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe");
            assert_eq!(exe.file_name().unwrap(), "step-04-echo", "{exe:?}");
        }
        client.signal(Signal::SIGINT);
        let client = client.finish();
        server.signal(Signal::SIGINT);
        (server.finish(), client)
    }) else {
        return;
    };
    for (role, output) in [("client", &client), ("server", &server)] {
        assert_eq!(output.code(), 0, "{output:?}");
        assert!(output.stdout.contains("signal: SIGINT received, stopping"));
        assert_eq!(output.lines_starting(&format!("{role}: ignored ")).len(), 1);
    }
    let summary = client
        .lines_starting("client: sent ")
        .pop()
        .expect("summary");
    assert!(!summary.contains(" 0 replies"), "{summary}");
}

#[test]
fn a_client_without_a_server_gives_up_within_its_bound() {
    let test = "a_client_without_a_server_gives_up_within_its_bound";
    let Some(client) = in_private_network(test, || {
        run(command(&[
            "client",
            "127.0.0.1",
            "--count",
            "2",
            "--interval",
            "50ms",
            "--timeout",
            "100ms",
            "--tries",
            "3",
        ]))
    }) else {
        return;
    };
    assert_eq!(client.code(), 1, "{client:?}");
    // Each request is sent three times, the waits 100, 200 and 400 ms.
    let resent = client.lines_starting("client: no reply to request");
    assert_eq!(
        resent,
        [
            "client: no reply to request 1 within 100ms: sending it again, try 2 of 3",
            "client: no reply to request 2 within 100ms: sending it again, try 2 of 3",
            "client: no reply to request 1 within 200ms: sending it again, try 3 of 3",
            "client: no reply to request 2 within 200ms: sending it again, try 3 of 3",
            "client: no reply to request 1 (seq 1) after 3 tries over 700ms",
            "client: no reply to request 2 (seq 13) after 3 tries over 700ms",
        ]
    );
    assert!(
        client.stdout.contains(
            "client: sent 2 requests, 0 replies received, 2 lost, resent 4"
        )
    );
    // It waited out the second request's last try before it gave up on it.
    assert!(client.elapsed.as_millis() >= 750, "{:?}", client.elapsed);
    // The kernel's RSTs, one to each of the six writes, did not pass for
    // replies.
    assert_eq!(ignored(&client, "client", "kernel-rst"), 6);
}

/// `unshare` itself failing means no namespace here.
fn unshare_refused(test: &str, output: &Finished) -> bool {
    if output.stderr.starts_with("unshare:") {
        let first = output.stderr.lines().next().unwrap_or_default();
        skip(test, first);
        return true;
    }
    false
}

#[test]
fn lo_down_is_reported_clearly() {
    let test = "lo_down_is_reported_clearly";
    if find_program("unshare").is_none() {
        skip(test, "unshare is not installed");
        return;
    }
    // A fresh network namespace whose lo was never brought up.
    let mut command = Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "--net", "--", BIN])
        .args(["client", "127.0.0.1", "--count", "1"]);
    let client = run(command);
    if unshare_refused(test, &client) {
        return;
    }
    assert_eq!(client.code(), 1, "{client:?}");
    assert!(
        client
            .stderr
            .starts_with("error: connect(127.0.0.1:50000): ENETUNREACH"),
        "{}",
        client.stderr
    );
    assert!(
        client.stderr.contains("ip link set lo up"),
        "{}",
        client.stderr
    );
}

#[test]
fn without_cap_net_raw_server_mode_prints_the_remedies() {
    let test = "without_cap_net_raw_server_mode_prints_the_remedies";
    if find_program("unshare").is_none() {
        skip(test, "unshare is not installed");
        return;
    }
    // A private network namespace owned by a user namespace in which we are
    // not root: socket() fails there as it would for a user in the host's.
    let mut command = Command::new("unshare");
    command.args(["--user", "--net", "--", BIN, "server", "127.0.0.1"]);
    let server = run(command);
    if unshare_refused(test, &server) {
        return;
    }
    assert_eq!(server.code(), 1, "{server:?}");
    assert!(
        server
            .stderr
            .starts_with("error: socket(AF_INET, SOCK_RAW, IPPROTO_TCP): EPERM"),
        "{}",
        server.stderr
    );
    assert!(server.stderr.contains("CAP_NET_RAW"));
    assert!(server.stderr.contains("setcap cap_net_raw+ep"));
    assert!(!server.stderr.contains("panicked"));
}

#[test]
fn demo_where_namespaces_are_refused_says_which() {
    let test = "demo_where_namespaces_are_refused_says_which";
    if find_program("unshare").is_none() || find_program("setpriv").is_none() {
        skip(test, "unshare or setpriv (util-linux) is not installed");
        return;
    }
    // Inside a user namespace of our own: allow no further user namespaces
    // there, and drop every capability, so the demo can have neither a network
    // namespace as root nor a user namespace around one.
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces || exit 99
         exec setpriv --bounding-set=-all --inh-caps=-all {BIN}"
    );
    let mut command = Command::new("unshare");
    command.args(["--user", "--map-root-user", "--", "sh", "-c", &script]);
    let demo = run(command);
    if unshare_refused(test, &demo) || demo.code() == 99 {
        skip(
            test,
            &format!("cannot set up the refusal: {}", demo.stderr.trim()),
        );
        return;
    }
    assert_eq!(demo.code(), 1, "{demo:?}");
    assert!(
        demo.stderr
            .starts_with("error: cannot enter a private network namespace"),
        "{}",
        demo.stderr
    );
    assert!(
        demo.stderr.contains("max_user_namespaces"),
        "{}",
        demo.stderr
    );
    assert!(!demo.stderr.contains("panicked"));
    assert!(demo.stdout.is_empty(), "{}", demo.stdout);
}
