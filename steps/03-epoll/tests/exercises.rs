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
use std::net::SocketAddrV4;

use step_01_socket::checksum::verify_tcp;
use step_01_socket::ipv4::Ipv4Repr;
use step_01_socket::{
    Ipv4Packet, SeqNumber, TcpPacket, TcpRepr, annotate_segment, summary,
};
use step_02_bind_connect::{CLIENT, REQUEST, SERVER, data_segment};
use step_03_epoll::exercises::{
    ISN, Outbox, Peer, SECOND_CLIENT, all_events, handle_epollout, timer_pacing,
};
use step_03_epoll::{Event, Flags, describe};

/// The summary line, then every field of `segment` sent from `src` to `dst`.
fn annotated(src: SocketAddrV4, dst: SocketAddrV4, segment: &[u8]) -> String {
    let view = TcpPacket::new_checked(segment).expect("a well-formed segment");
    let line = summary(src, dst, &TcpRepr::parse(&view));
    let fields = annotate_segment(*src.ip(), *dst.ip(), segment)
        .expect("a well-formed segment");
    format!("{line}\n{fields}")
}

/// What a raw socket reads when `segment` goes from `src` to `dst`: the IPv4
/// header the kernel put in front (fixed id and TTL), then the segment.
fn as_read(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    ident: u16,
    segment: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: *src.ip(),
        dst_addr: *dst.ip(),
        protocol: 6,
        ident,
        ttl: 64,
        payload_len: segment.len(),
    };
    let mut packet = vec![0u8; ip.header_len() + segment.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]));
    packet[ip.header_len()..].copy_from_slice(segment);
    packet
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-03-epoll --test exercises exercise_all_events -- --ignored"
)]
fn exercise_all_events() {
    // Each client's request, as the server's socket for that client reads it.
    // The second client numbers its bytes from 1001.
    let first = as_read(
        CLIENT,
        SERVER,
        0x0001,
        &data_segment(CLIENT, SERVER, ISN, ISN, REQUEST),
    );
    let second = as_read(
        SECOND_CLIENT,
        SERVER,
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
