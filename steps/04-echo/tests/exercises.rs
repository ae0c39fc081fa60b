//! The checks of the exercises in `src/exercises/`: snapshots of the segments
//! each exercise's machine builds, and the decisions it makes, for a fixed
//! sequence of reads.
//!
//! The committed snapshots are the reference solutions' output. With the
//! starters the tests are ignored (so `cargo test --workspace` passes); run
//! one with `--ignored` to see whether your version matches:
//!
//! ```text
//! cargo test -p step-04-echo --test exercises exercise_reversed_reply -- --ignored
//! ```

use std::fmt::Write as _;
use std::net::SocketAddrV4;

use step_01_socket::checksum::verify_tcp;
use step_01_socket::{
    SeqNumber, TcpFlags, annotate_packet, annotate_segment, parse_received,
};
use step_02_bind_connect::{CLIENT, REQUEST, SERVER};
use step_04_echo::ServerEvent;
use step_04_echo::exercises::SECOND_CLIENT;
use step_04_echo::exercises::match_by_ack::Requests;
use step_04_echo::exercises::reversed_reply::ReversingServer;
use step_04_echo::exercises::second_client::TwoClients;

/// What a raw socket reads: see `testkit::segment_as_read`.
fn read(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    testkit::segment_as_read(src, dst, seq, ack, flags, payload)
}

/// A data segment, PSH|ACK, as the workbook's programs send them.
fn data(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    payload: &[u8],
) -> Vec<u8> {
    read(src, dst, seq, ack, TcpFlags::PSH | TcpFlags::ACK, payload)
}

/// The kernel's RST from `src` to `dst`: no ACK, its seq the ack it answers.
fn rst(src: SocketAddrV4, dst: SocketAddrV4, seq: u32) -> Vec<u8> {
    read(src, dst, seq, 0, TcpFlags::RST, b"")
}

/// The summary line of a read, or why it does not parse.
fn line(bytes: &[u8]) -> String {
    match parse_received(bytes) {
        Ok(packet) => packet.summary(),
        Err(error) => format!("unparsable: {error}"),
    }
}

/// What a server decided, in one line; the reply's segment, if any.
fn decision(event: ServerEvent<'_>) -> (String, Option<Vec<u8>>) {
    match event {
        ServerEvent::Request { reply, .. } => {
            (format!("  -> wrote {reply}"), Some(reply.segment.to_vec()))
        }
        ServerEvent::Resent { reply, .. } => (
            format!("  -> wrote again {reply}"),
            Some(reply.segment.to_vec()),
        ),
        ServerEvent::Ignored(ignoring) => {
            (format!("  -> ignored {}", ignoring.reason), None)
        }
    }
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-04-echo --test exercises exercise_reversed_reply -- --ignored"
)]
fn exercise_reversed_reply() {
    let mut server = ReversingServer::new(SERVER, CLIENT);
    let reads = [
        data(CLIENT, SERVER, 1, 1, REQUEST),
        // The kernel's RST to the reply, and our own reply read back (as when
        // both ends share an address): neither is a request.
        rst(CLIENT, SERVER, 13),
        data(SERVER, CLIENT, 1, 13, b"Hello client"),
        // A shorter request: its reply is shorter too.
        data(CLIENT, SERVER, 13, 13, b"abc"),
        data(CLIENT, SERVER, 16, 16, REQUEST),
    ];
    let mut log = String::new();
    let mut replies = Vec::new();
    for bytes in &reads {
        let (what, reply) = decision(server.on_packet(bytes));
        let _ = writeln!(log, "read  {}\n{what}", line(bytes));
        replies.extend(reply);
    }
    for segment in &replies {
        assert!(
            verify_tcp(*SERVER.ip(), *CLIENT.ip(), segment),
            "a reply's checksum does not verify for 127.0.0.1 -> 127.0.0.2"
        );
    }
    if let Some(first) = replies.first() {
        let dump = annotate_segment(*SERVER.ip(), *CLIENT.ip(), first)
            .unwrap_or_else(|error| format!("not a TCP segment: {error}\n"));
        let _ = write!(log, "\nthe first reply, as written:\n{dump}");
    }
    insta::assert_snapshot!("reversed_reply", log);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-04-echo --test exercises exercise_second_client -- --ignored"
)]
fn exercise_second_client() {
    let mut server = TwoClients::new(SERVER, CLIENT, SECOND_CLIENT);
    let stranger = SocketAddrV4::new(*CLIENT.ip(), 50003);
    let reads = [
        data(CLIENT, SERVER, 1, 1, REQUEST),
        data(SECOND_CLIENT, SERVER, 1, 1, REQUEST),
        rst(SECOND_CLIENT, SERVER, 13),
        data(CLIENT, SERVER, 13, 13, REQUEST),
        data(stranger, SERVER, 1, 1, REQUEST),
        rst(SERVER, stranger, 1),
        data(SECOND_CLIENT, SERVER, 13, 13, REQUEST),
        rst(CLIENT, SERVER, 25),
    ];
    let mut log = String::from(
        "a server at 127.0.0.1:50000; clients 127.0.0.2:50001 and 127.0.0.2:50002\n",
    );
    let mut second_reply = None;
    for bytes in &reads {
        let (what, reply) = decision(server.on_packet(bytes));
        let _ = writeln!(log, "read  {}\n{what}", line(bytes));
        if let Some(segment) = reply {
            let to_second =
                parse_received(bytes).is_ok_and(|p| p.src() == SECOND_CLIENT);
            if to_second && second_reply.is_none() {
                second_reply = Some(segment);
            }
        }
    }
    let _ = writeln!(log, "\n{}", server.summary());
    if let Some(segment) = &second_reply {
        let dump = annotate_segment(*SERVER.ip(), *SECOND_CLIENT.ip(), segment)
            .unwrap_or_else(|error| format!("not a TCP segment: {error}\n"));
        let _ = write!(
            log,
            "\nthe first reply to 127.0.0.2:50002, as written:\n{dump}"
        );
    }
    insta::assert_snapshot!("second_client", log);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-04-echo --test exercises exercise_match_by_ack -- --ignored"
)]
fn exercise_match_by_ack() {
    let mut requests = Requests::new();
    // Three requests of 12 bytes: seq 1:13, 13:25, 25:37.
    for seq in [1, 13, 25] {
        requests.sent(SeqNumber(seq), REQUEST.len());
    }
    let reply = |ack| data(SERVER, CLIENT, 1, ack, b"Hello client");
    let reads = [
        reply(25), // the second request's reply comes first
        reply(13),
        reply(13), // the same reply again
        reply(14), // ends in the middle of request 2
        reply(1),  // acknowledges nothing we sent
        reply(37),
    ];
    let mut log = String::new();
    for bytes in &reads {
        let Ok(packet) = parse_received(bytes) else {
            panic!("the test's own packet does not parse");
        };
        let what = match requests.on_reply(&packet) {
            Ok(number) => format!("answers request {number}"),
            Err(reason) => format!("ignored {reason}"),
        };
        let _ = writeln!(
            log,
            "ack {:<3} {what:<20} {}",
            packet.tcp.ack_number().to_string(),
            packet.summary()
        );
    }
    let _ = write!(
        log,
        "\n{}\n\nthe first reply, as read (the ack at 001c):\n{}",
        requests.summary(),
        annotate_packet(&reads[0])
    );
    insta::assert_snapshot!("match_by_ack", log);
}
