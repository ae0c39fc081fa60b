//! The checks of the exercises in `src/exercises/`: snapshots of the segments
//! each exercise function builds for a fixed input.
//!
//! The committed snapshots are the reference solutions' output. With the
//! starters the tests are ignored (so `cargo test --workspace` passes); run
//! one with `--ignored` to see whether your version matches:
//!
//! ```text
//! cargo test -p step-03-epoll --test exercises exercise_all_events -- --ignored
//! ```

use std::fmt::Write as _;

use step_01_socket::SeqNumber;
use step_01_socket::checksum::verify_tcp;
use step_02_bind_connect::{CLIENT, REQUEST, SERVER, data_segment};
use step_03_epoll::exercises::{
    ISN, Outbox, Peer, SECOND_CLIENT, all_events, handle_epollout, timer_pacing,
};
use step_03_epoll::{Event, Flags, describe};
use testkit::{annotated, with_ipv4_header};

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-03-epoll --test exercises exercise_all_events -- --ignored"
)]
fn exercise_all_events() {
    // Each client's request, as the server's socket for that client reads it.
    // The second client numbers its bytes from 1001.
    let first = with_ipv4_header(
        *CLIENT.ip(),
        *SERVER.ip(),
        0x0001,
        &data_segment(CLIENT, SERVER, ISN, ISN, REQUEST),
    );
    let second = with_ipv4_header(
        *SECOND_CLIENT.ip(),
        *SERVER.ip(),
        0x0002,
        &data_segment(SECOND_CLIENT, SERVER, SeqNumber(1001), ISN, REQUEST),
    );
    let peers = [
        Peer {
            token: 1,
            client: CLIENT,
            waiting: &first,
        },
        Peer {
            token: 2,
            client: SECOND_CLIENT,
            waiting: &second,
        },
    ];
    // One wait's events, in the kernel's order: the second client's socket,
    // the timer (token 3, not a peer), the first client's socket.
    let events = [
        Event::new(Flags::EPOLLIN, 2),
        Event::new(Flags::EPOLLIN, 3),
        Event::new(Flags::EPOLLIN, 1),
    ];

    let replies = all_events::replies(&events, &peers);

    let mut text = format!("epoll_wait returned {} events:\n", events.len());
    for event in &events {
        let _ = writeln!(
            text,
            "  token {}: {}",
            event.data(),
            describe(event.events())
        );
    }
    let _ = writeln!(text, "{} replies", replies.len());
    for (i, reply) in replies.iter().enumerate() {
        assert!(
            verify_tcp(*SERVER.ip(), *reply.to.ip(), &reply.segment),
            "reply {} to {}: the checksum must verify",
            i + 1,
            reply.to
        );
        let _ = write!(
            text,
            "\nreply {} to {}\n{}",
            i + 1,
            reply.to,
            annotated(SERVER, reply.to, &reply.segment)
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-03-epoll --test exercises exercise_timer_pacing -- --ignored"
)]
fn exercise_timer_pacing() {
    // What four reads of the timerfd returned: on time, three ticks late, a
    // read with nothing expired, on time again.
    let reads = [1, 3, 0, 1];
    let mut next_seq = ISN;
    let mut text = String::new();
    let mut sent = 0;
    for (i, expirations) in reads.into_iter().enumerate() {
        let requests = timer_pacing::on_tick(expirations, &mut next_seq);
        let _ = writeln!(
            text,
            "wake-up {}: {expirations} expiration(s) read, {} request(s)",
            i + 1,
            requests.len()
        );
        for request in &requests {
            text.push_str(&annotated(CLIENT, SERVER, request));
        }
        sent += requests.len();
    }
    let _ = write!(text, "{sent} requests; the next byte is number {next_seq}");
    insta::assert_snapshot!(text);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-03-epoll --test exercises exercise_handle_epollout -- --ignored"
)]
fn exercise_handle_epollout() {
    // A timer tick queued one request, and the sender's mask asked for
    // EPOLLIN|EPOLLOUT. Three waits follow: a RST arrives while the send
    // buffer is full (EPOLLIN only), then there is room (EPOLLOUT), then
    // another RST (EPOLLIN) with nothing left to send.
    let mut outbox = Outbox {
        queue: vec![REQUEST.to_vec()],
        next_seq: ISN,
    };
    let mut text = String::new();
    let mut interest = Flags::EPOLLIN | Flags::EPOLLOUT;
    for (i, reported) in [Flags::EPOLLIN, Flags::EPOLLOUT, Flags::EPOLLIN]
        .into_iter()
        .enumerate()
    {
        let queued = outbox.queue.len();
        let decision = handle_epollout::on_sender(reported, &mut outbox);
        let _ = writeln!(
            text,
            "wait {}: sender {}, {queued} queued, writes {}",
            i + 1,
            describe(reported),
            decision.segments.len()
        );
        for segment in &decision.segments {
            text.push_str(&annotated(CLIENT, SERVER, segment));
        }
        interest = decision.interest;
        let _ = writeln!(text, "  EPOLL_CTL_MOD sender {}", describe(interest));
    }
    insta::assert_snapshot!(text);
    assert!(outbox.queue.is_empty(), "everything queued was sent");
    assert!(
        !interest.contains(Flags::EPOLLOUT),
        "nothing waits, so the mask must not ask for EPOLLOUT"
    );
}

// The exercise `drain_until_eagain`: the learner's own epoll registration,
// wait and reads, run in a private network namespace.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use step_01_socket::{MAX_PACKET, parse_received};
use step_02_bind_connect::{open_connected, send};
use step_03_epoll::EventSet;
use step_03_epoll::exercises::drain_until_eagain::wait_and_read;
use testkit::in_private_network;

/// How many requests the client sends before the one wake-up.
const REQUESTS: usize = 3;

/// A packet as one line: addresses and ports, flags, sequence number and
/// payload length.
fn packet_line(bytes: &[u8]) -> String {
    match parse_received(bytes) {
        Ok(packet) => format!(
            "{} > {} {} seq {} len {}",
            packet.src(),
            packet.dst(),
            packet.tcp.flags(),
            packet.tcp.seq_number(),
            packet.tcp.payload().len()
        ),
        Err(error) => format!("{} bytes, no TCP packet: {error}", bytes.len()),
    }
}

/// Ends the test process if the learner's code has not returned after
/// [`testkit::HANG`]: a wait without a timeout, or a read loop that never
/// stops, must fail the check rather than hang it.
fn watchdog(test: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(testkit::HANG);
        eprintln!(
            "{test}: wait_and_read has not returned after {} s: does it wait \
             without a timeout, or loop on EAGAIN?",
            testkit::HANG.as_secs()
        );
        std::process::exit(1);
    });
}

/// The server's socket with three requests queued, one call of the learner's
/// `wait_and_read`, then one more wait: what was read, and what was left.
fn one_wake_up() -> String {
    watchdog("exercise_drain_until_eagain");
    // The server's socket (bound to 127.0.0.1, connected to 127.0.0.2), and a
    // second one like it with a receive timeout: once that one has read every
    // request, all of them are queued on the server's too.
    let server = open_connected(SERVER, CLIENT).expect("the server's socket");
    server.set_nonblocking().expect("O_NONBLOCK");
    let watcher = open_connected(SERVER, CLIENT).expect("a second server socket");
    watcher
        .set_recv_timeout(Duration::from_secs(1))
        .expect("SO_RCVTIMEO");
    let client = open_connected(CLIENT, SERVER).expect("the client's socket");
    let mut buf = vec![0u8; MAX_PACKET];
    for i in 0..REQUESTS {
        let seq = ISN + i * REQUEST.len();
        send(&client, &data_segment(CLIENT, SERVER, seq, ISN, REQUEST))
            .expect("write the request");
        watcher
            .try_recv(&mut buf)
            .expect("recv")
            .expect("the request arrives within 1 s");
    }
    let socket = OwnedFd::from(server);
    let set = EventSet::new().expect("epoll_create1");
    let mut text =
        format!("{REQUESTS} requests queued on the server's socket; wait_and_read ");
    match wait_and_read(&set, &socket) {
        Ok(packets) => {
            let _ = writeln!(text, "returned {} packet(s):", packets.len());
            for packet in &packets {
                let _ = writeln!(text, "  {}", packet_line(packet));
            }
        }
        Err(error) => {
            let _ = writeln!(text, "failed: {error}");
        }
    }
    // The next wait of the loop, and what a read would still find.
    let mut events = [Event::empty(); 8];
    let n = set
        .wait(&mut events, Some(Duration::from_millis(200)))
        .expect("epoll_wait");
    let _ = writeln!(text, "the next epoll_wait (200 ms): {n} event(s)");
    for event in &events[..n] {
        let _ = writeln!(
            text,
            "  token {}: {}",
            event.data(),
            describe(event.events())
        );
    }
    let mut left = 0;
    loop {
        match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(_) => left += 1,
            Err(Errno::EAGAIN) => break,
            Err(errno) => panic!("recv on the server's socket: {errno}"),
        }
    }
    let _ = writeln!(text, "still queued on the socket: {left} packet(s)");
    text
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-03-epoll --test exercises exercise_drain_until_eagain -- --ignored"
)]
fn exercise_drain_until_eagain() {
    let Some(text) = in_private_network("exercise_drain_until_eagain", one_wake_up)
    else {
        return;
    };
    insta::assert_snapshot!(text);
}
