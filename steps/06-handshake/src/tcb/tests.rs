//! The state machine fed with segments made up here, at made-up times: every
//! rule of RFC 9293 this TCP follows, one test each, no socket.

use std::time::{Duration, Instant};

use step_02_bind_connect::{CLIENT, SERVER};
use testkit::with_ipv4_header;

use super::*;

const MS: Duration = Duration::from_millis(1);
/// Our initial sequence number in these tests.
const ISS: SeqNumber = SeqNumber(1000);
/// The peer's.
const PEER: SeqNumber = SeqNumber(5000);

fn config() -> Config {
    Config {
        rto: 100 * MS,
        tries: 3,
        time_wait: 500 * MS,
        ..Config::default()
    }
}

/// What a raw socket reads when `segment` goes over `lo`.
fn read(segment: &Segment) -> Vec<u8> {
    with_ipv4_header(*segment.src.ip(), *segment.dst.ip(), 1, &segment.to_bytes())
}

/// A segment from the peer (the server, for a client Tcb) with ACK `ack`.
fn from_server(seq: SeqNumber, ack: Option<SeqNumber>, flags: TcpFlags) -> Segment {
    Segment::new(SERVER, CLIENT, seq, ack, flags, 65535)
}

/// The same with data.
fn data_from_server(seq: SeqNumber, ack: SeqNumber, payload: &[u8]) -> Segment {
    let mut segment = from_server(seq, Some(ack), TcpFlags::PSH);
    segment.payload = payload.to_vec();
    segment
}

/// Everything the Tcb has to write now.
fn written(tcb: &mut Tcb, now: Instant) -> Vec<Segment> {
    std::iter::from_fn(|| tcb.poll_transmit(now))
        .map(|out| {
            // The bytes say what the line says, with a correct checksum.
            let segment = out.seen.segment;
            let (src, dst) = (*segment.src.ip(), *segment.dst.ip());
            let bytes = with_ipv4_header(src, dst, 1, &out.bytes);
            let packet = parse_received(&bytes).expect("our segment parses");
            assert_eq!(packet.checksum_status(), ChecksumStatus::Correct);
            assert_eq!(Segment::from_received(&packet).0, segment);
            segment
        })
        .collect()
}

/// The one segment the Tcb writes now.
fn one(tcb: &mut Tcb, now: Instant) -> Segment {
    let mut all = written(tcb, now);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn states(events: &[Event]) -> Vec<(State, State)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::State { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn ignored(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Ignored { reason, .. } => Some(reason.reason()),
            _ => None,
        })
        .collect()
}

fn data(events: &[Event]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Data(bytes) => Some(bytes.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// A client Tcb whose SYN is out, at `t0`.
fn syn_sent(t0: Instant) -> Tcb {
    let mut tcb = Tcb::new(config(), CLIENT, ISS);
    tcb.connect(SERVER);
    let syn = one(&mut tcb, t0);
    assert_eq!(syn.seq, ISS);
    tcb
}

/// A client Tcb after the three-way handshake.
fn established(t0: Instant) -> Tcb {
    let mut tcb = syn_sent(t0);
    let syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    tcb.on_packet(&read(&syn_ack), t0);
    assert_eq!(tcb.state(), State::Established);
    written(&mut tcb, t0);
    tcb
}

// ANCHOR: handshake_tests
#[test]
fn the_active_open_sends_a_syn_with_our_mss_and_acks_the_syn_ack() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), CLIENT, ISS);
    let events = tcb.connect(SERVER);
    assert_eq!(states(&events), [(State::Closed, State::SynSent)]);
    let syn = one(&mut tcb, t0);
    assert_eq!((syn.seq, syn.ack, syn.flags), (ISS, None, TcpFlags::SYN));
    assert_eq!(syn.options, [TcpOption::Mss(1460)]);
    // The kernel's SYN-ACK: its own ISN, ack = our ISN + 1, its MSS.
    let mut syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    syn_ack.options = vec![TcpOption::Mss(65495)];
    let events = tcb.on_packet(&read(&syn_ack), t0);
    assert_eq!(states(&events), [(State::SynSent, State::Established)]);
    assert_eq!(tcb.irs(), Some(PEER));
    assert_eq!(tcb.peer_mss(), 65495);
    // The third segment: ACK, seq = ISN + 1, ack = the peer's ISN + 1.
    let ack = one(&mut tcb, t0);
    assert_eq!(
        (ack.seq, ack.ack, ack.flags),
        (ISS + 1, Some(PEER + 1), TcpFlags::ACK)
    );
    assert!(ack.options.is_empty() && ack.payload.is_empty());
    assert_eq!(tcb.next_deadline(), None, "nothing is waiting for an ACK");
}

#[test]
fn the_passive_open_answers_a_syn_with_a_syn_ack_and_takes_the_ack() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    assert_eq!(states(&tcb.listen()), [(State::Closed, State::Listen)]);
    assert_eq!(written(&mut tcb, t0), [], "listening sends nothing");
    let mut syn = Segment::new(CLIENT, SERVER, PEER, None, TcpFlags::SYN, 65535);
    syn.options = vec![TcpOption::Mss(65495), TcpOption::SackPermitted];
    let events = tcb.on_packet(&read(&syn), t0);
    assert_eq!(states(&events), [(State::Listen, State::SynReceived)]);
    assert_eq!(tcb.remote(), Some(CLIENT));
    let syn_ack = one(&mut tcb, t0);
    assert_eq!(
        (syn_ack.seq, syn_ack.ack, syn_ack.flags),
        (ISS, Some(PEER + 1), TcpFlags::SYN | TcpFlags::ACK)
    );
    assert_eq!(
        syn_ack.options,
        [TcpOption::Mss(1460)],
        "no SACK offered back"
    );
    let ack =
        Segment::new(CLIENT, SERVER, PEER + 1, Some(ISS + 1), TcpFlags(0), 512);
    let events = tcb.on_packet(&read(&ack), t0);
    assert_eq!(states(&events), [(State::SynReceived, State::Established)]);
    assert_eq!(tcb.peer_window(), 512);
    assert_eq!(written(&mut tcb, t0), [], "an ACK is not acknowledged");
}
// ANCHOR_END: handshake_tests

#[test]
fn data_queued_before_the_handshake_follows_the_ack_on_its_own() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    assert_eq!(tcb.send(b"Hello server"), 12);
    let syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    tcb.on_packet(&read(&syn_ack), t0);
    let out = written(&mut tcb, t0);
    assert_eq!(out.len(), 2);
    assert_eq!((out[0].flags, out[0].payload.len()), (TcpFlags::ACK, 0));
    assert_eq!(out[1].flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(
        (out[1].seq, &out[1].payload[..]),
        (ISS + 1, &b"Hello server"[..])
    );
}

// ANCHOR: data_tests
#[test]
fn in_order_data_is_delivered_and_acknowledged() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let segment = data_from_server(PEER + 1, ISS + 1, b"Hello client");
    let events = tcb.on_packet(&read(&segment), t0);
    assert_eq!(data(&events), b"Hello client");
    let ack = one(&mut tcb, t0);
    assert_eq!((ack.flags, ack.ack), (TcpFlags::ACK, Some(PEER + 13)));
    assert_eq!(tcb.stats().bytes_received, 12);
}

#[test]
fn out_of_order_data_is_held_until_the_gap_is_filled() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    // Bytes 6..12 come before bytes 0..6.
    let second = data_from_server(PEER + 7, ISS + 1, b"client");
    let events = tcb.on_packet(&read(&second), t0);
    assert_eq!(data(&events), b"");
    assert!(
        events.contains(&Event::Held { seq: 7, len: 6 }),
        "{events:?}"
    );
    // A duplicate ACK: still waiting for byte 1.
    assert_eq!(one(&mut tcb, t0).ack, Some(PEER + 1));
    let first = data_from_server(PEER + 1, ISS + 1, b"Hello ");
    let events = tcb.on_packet(&read(&first), t0);
    assert_eq!(data(&events), b"Hello client", "both, in order");
    assert_eq!(one(&mut tcb, t0).ack, Some(PEER + 13));
}

#[test]
fn out_of_order_data_beyond_the_bound_is_dropped() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(
        Config {
            max_held: 2,
            ..config()
        },
        CLIENT,
        ISS,
    );
    tcb.connect(SERVER);
    written(&mut tcb, t0);
    tcb.on_packet(&read(&from_server(PEER, Some(ISS + 1), TcpFlags::SYN)), t0);
    written(&mut tcb, t0);
    for (i, seq) in [10usize, 20, 30].into_iter().enumerate() {
        let segment = data_from_server(PEER + seq, ISS + 1, b"abcd");
        let events = tcb.on_packet(&read(&segment), t0);
        let expected = if i < 2 {
            Event::Held {
                seq: seq as u32,
                len: 4,
            }
        } else {
            Event::Dropped { seq: 30, len: 4 }
        };
        assert!(events.contains(&expected), "{events:?}");
    }
    assert_eq!(tcb.stats().ignored.get("dropped-out-of-order"), 1);
}

#[test]
fn overlapping_data_is_trimmed_to_what_is_new() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.on_packet(&read(&data_from_server(PEER + 1, ISS + 1, b"Hello ")), t0);
    // A resend that overlaps what came: bytes 1..13, of which 7..13 are new.
    let events = tcb.on_packet(
        &read(&data_from_server(PEER + 1, ISS + 1, b"Hello client")),
        t0,
    );
    assert_eq!(data(&events), b"client");
    assert_eq!(tcb.sequence().2, PEER + 13);
}
// ANCHOR_END: data_tests

// ANCHOR: window_tests
#[test]
fn the_peers_window_limits_what_is_sent() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let mut syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    syn_ack.window = 5;
    tcb.on_packet(&read(&syn_ack), t0);
    written(&mut tcb, t0);
    tcb.send(b"Hello server");
    let out = written(&mut tcb, t0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].payload, b"Hello", "5 bytes: the window");
    // The peer takes them and opens its window to 100: the rest goes.
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 1, Some(ISS + 6), TcpFlags(0), 100);
    tcb.on_packet(&read(&ack), t0);
    let rest = one(&mut tcb, t0);
    assert_eq!((rest.seq, &rest.payload[..]), (ISS + 6, &b" server"[..]));
    assert!(rest.has(TcpFlags::PSH), "the last of the buffer is pushed");
}

#[test]
fn segments_are_no_larger_than_the_smaller_mss() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let mut syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    syn_ack.options = vec![TcpOption::Mss(4)];
    tcb.on_packet(&read(&syn_ack), t0);
    written(&mut tcb, t0);
    tcb.send(b"Hello server");
    let sizes: Vec<usize> = written(&mut tcb, t0)
        .iter()
        .map(|s| s.payload.len())
        .collect();
    assert_eq!(sizes, [4, 4, 4]);
}

#[test]
fn a_zero_window_is_probed_with_one_byte_when_the_timer_runs_out() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let mut syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    syn_ack.window = 0;
    tcb.on_packet(&read(&syn_ack), t0);
    written(&mut tcb, t0);
    tcb.send(b"abc");
    assert_eq!(written(&mut tcb, t0), [], "nothing fits a zero window");
    assert_eq!(tcb.next_deadline(), Some(t0 + 100 * MS));
    tcb.on_timeout(t0 + 100 * MS);
    let probe = one(&mut tcb, t0 + 100 * MS);
    assert_eq!(probe.payload, b"a");
    // Window open again: the rest goes.
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 1, Some(ISS + 2), TcpFlags(0), 100);
    tcb.on_packet(&read(&ack), t0 + 110 * MS);
    assert_eq!(one(&mut tcb, t0 + 110 * MS).payload, b"bc");
}
// ANCHOR_END: window_tests

// ANCHOR: resend_tests
#[test]
fn an_unanswered_syn_is_resent_with_backoff_then_given_up() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    assert_eq!(tcb.next_deadline(), Some(t0 + 100 * MS));
    assert_eq!(tcb.on_timeout(t0 + 99 * MS), []);
    let events = tcb.on_timeout(t0 + 100 * MS);
    assert_eq!(
        events,
        [Event::Resend(Resend {
            what: Unacked::Syn,
            attempt: 2,
            tries: 3,
            waited: 100 * MS
        })]
    );
    assert_eq!(
        events[0].to_string(),
        "no ACK for our SYN within 100ms: sending it again, try 2 of 3"
    );
    let again = one(&mut tcb, t0 + 100 * MS);
    assert_eq!(
        (again.seq, again.flags),
        (ISS, TcpFlags::SYN),
        "the same SYN"
    );
    // The next wait is twice as long: 200 ms.
    assert_eq!(tcb.next_deadline(), Some(t0 + 300 * MS));
    tcb.on_timeout(t0 + 300 * MS);
    one(&mut tcb, t0 + 300 * MS);
    // After the third try's 400 ms: given up, and no RST (the peer never
    // answered, there is nothing to reset).
    let events = tcb.on_timeout(t0 + 700 * MS);
    assert_eq!(states(&events), [(State::SynSent, State::Closed)]);
    assert_eq!(
        events[0].to_string(),
        "SYN-SENT -> CLOSED: no ACK for our SYN after 3 tries over 700ms: giving up"
    );
    assert_eq!(written(&mut tcb, t0 + 700 * MS), []);
    assert_eq!(tcb.next_deadline(), None);
    assert_eq!(config().give_up_after(), 700 * MS);
}

#[test]
fn unacknowledged_data_is_resent_from_the_oldest_byte() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.send(b"Hello server");
    let first = one(&mut tcb, t0);
    assert_eq!(tcb.next_deadline(), Some(t0 + 100 * MS));
    let events = tcb.on_timeout(t0 + 100 * MS);
    assert_eq!(
        events[0].to_string(),
        "no ACK for data seq 1:13 within 100ms: sending it again, try 2 of 3"
    );
    assert_eq!(one(&mut tcb, t0 + 100 * MS), first, "the same bytes");
    // Acknowledged: the timer stops.
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 1, Some(ISS + 13), TcpFlags(0), 65535);
    tcb.on_packet(&read(&ack), t0 + 150 * MS);
    assert_eq!(tcb.next_deadline(), None);
    assert_eq!(tcb.unacknowledged(), 0);
    assert_eq!(tcb.stats().resent, 1);
}

#[test]
fn an_unacknowledged_fin_is_resent_then_the_connection_given_up_with_a_rst() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.close();
    let fin = one(&mut tcb, t0);
    assert_eq!(
        (fin.seq, fin.flags),
        (ISS + 1, TcpFlags::FIN | TcpFlags::ACK)
    );
    let events = tcb.on_timeout(t0 + 100 * MS);
    assert_eq!(
        events[0].to_string(),
        "no ACK for our FIN within 100ms: sending it again, try 2 of 3"
    );
    assert_eq!(one(&mut tcb, t0 + 100 * MS), fin);
    tcb.on_timeout(t0 + 300 * MS);
    one(&mut tcb, t0 + 300 * MS);
    let events = tcb.on_timeout(t0 + 700 * MS);
    assert_eq!(states(&events), [(State::FinWait1, State::Closed)]);
    let rst = one(&mut tcb, t0 + 700 * MS);
    assert_eq!((rst.seq, rst.flags), (ISS + 2, TcpFlags::RST));
}
// ANCHOR_END: resend_tests

// ANCHOR: close_tests
#[test]
fn the_side_that_closes_first_goes_through_time_wait() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    assert_eq!(
        states(&tcb.close()),
        [(State::Established, State::FinWait1)]
    );
    let fin = one(&mut tcb, t0);
    assert_eq!(fin.flags, TcpFlags::FIN | TcpFlags::ACK);
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 1, Some(ISS + 2), TcpFlags(0), 65535);
    let events = tcb.on_packet(&read(&ack), t0);
    assert_eq!(states(&events), [(State::FinWait1, State::FinWait2)]);
    let peer_fin = from_server(PEER + 1, Some(ISS + 2), TcpFlags::FIN);
    let events = tcb.on_packet(&read(&peer_fin), t0 + 10 * MS);
    assert_eq!(states(&events), [(State::FinWait2, State::TimeWait)]);
    let last = one(&mut tcb, t0 + 10 * MS);
    assert_eq!((last.seq, last.ack), (ISS + 2, Some(PEER + 2)));
    // The peer's FIN again (our ACK was lost): acknowledged again.
    let events = tcb.on_packet(&read(&peer_fin), t0 + 20 * MS);
    assert_eq!(ignored(&events), ["out-of-window"]);
    assert_eq!(one(&mut tcb, t0 + 20 * MS), last);
    // TIME-WAIT started over at 20 ms, and lasts 500 ms.
    assert_eq!(tcb.on_timeout(t0 + 519 * MS), []);
    let events = tcb.on_timeout(t0 + 520 * MS);
    assert_eq!(states(&events), [(State::TimeWait, State::Closed)]);
}

#[test]
fn the_side_that_closes_second_goes_through_close_wait_and_last_ack() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let peer_fin = from_server(PEER + 1, Some(ISS + 1), TcpFlags::FIN);
    let events = tcb.on_packet(&read(&peer_fin), t0);
    assert_eq!(states(&events), [(State::Established, State::CloseWait)]);
    assert_eq!(
        one(&mut tcb, t0).ack,
        Some(PEER + 2),
        "the FIN takes a number"
    );
    // We may still send, then close.
    tcb.send(b"bye");
    assert_eq!(states(&tcb.close()), [(State::CloseWait, State::LastAck)]);
    let out = written(&mut tcb, t0);
    assert_eq!(out.len(), 2);
    assert_eq!(
        (out[0].payload.as_slice(), out[1].seq),
        (&b"bye"[..], ISS + 4)
    );
    assert!(out[1].has(TcpFlags::FIN));
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 2, Some(ISS + 5), TcpFlags(0), 65535);
    let events = tcb.on_packet(&read(&ack), t0);
    assert_eq!(states(&events), [(State::LastAck, State::Closed)]);
    assert_eq!(tcb.stats().bytes_acked, 3);
}

#[test]
fn fins_that_cross_go_through_closing() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.close();
    one(&mut tcb, t0);
    // The peer's FIN, which does not acknowledge ours yet.
    let peer_fin = from_server(PEER + 1, Some(ISS + 1), TcpFlags::FIN);
    let events = tcb.on_packet(&read(&peer_fin), t0);
    assert_eq!(states(&events), [(State::FinWait1, State::Closing)]);
    one(&mut tcb, t0);
    let ack =
        Segment::new(SERVER, CLIENT, PEER + 2, Some(ISS + 2), TcpFlags(0), 65535);
    let events = tcb.on_packet(&read(&ack), t0);
    assert_eq!(states(&events), [(State::Closing, State::TimeWait)]);
}

#[test]
fn a_fin_that_also_acknowledges_ours_goes_straight_to_time_wait() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.close();
    one(&mut tcb, t0);
    let fin_ack = from_server(PEER + 1, Some(ISS + 2), TcpFlags::FIN);
    let events = tcb.on_packet(&read(&fin_ack), t0);
    assert_eq!(
        states(&events),
        [
            (State::FinWait1, State::FinWait2),
            (State::FinWait2, State::TimeWait)
        ]
    );
}
// ANCHOR_END: close_tests

// ANCHOR: rst_tests
#[test]
fn a_rst_acknowledging_our_syn_means_connection_refused() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    // What the kernel answers a SYN to a port where nothing listens.
    let rst = from_server(SeqNumber(0), Some(ISS + 1), TcpFlags::RST);
    let events = tcb.on_packet(&read(&rst), t0);
    assert_eq!(states(&events), [(State::SynSent, State::Closed)]);
    assert_eq!(
        events.last().map(ToString::to_string).as_deref(),
        Some(
            "SYN-SENT -> CLOSED: the peer's RST acknowledges our SYN: connection refused"
        )
    );
    assert_eq!(written(&mut tcb, t0), [], "a RST is never answered");
    assert_eq!(tcb.next_deadline(), None, "no more resends");
}

#[test]
fn a_rst_in_syn_sent_that_acknowledges_nothing_is_ignored() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let without_ack = from_server(SeqNumber(0), None, TcpFlags::RST);
    assert_eq!(
        ignored(&tcb.on_packet(&read(&without_ack), t0)),
        ["rst-without-ack"]
    );
    let old_ack = from_server(SeqNumber(0), Some(ISS), TcpFlags::RST);
    assert_eq!(
        ignored(&tcb.on_packet(&read(&old_ack), t0)),
        ["unacceptable-ack"]
    );
    assert_eq!(tcb.state(), State::SynSent);
    assert_eq!(written(&mut tcb, t0), []);
}

#[test]
fn an_unacceptable_ack_in_syn_sent_is_answered_with_a_rst() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    // A SYN-ACK of some other SYN: it acknowledges ISS + 100.
    let stray = from_server(PEER, Some(ISS + 100), TcpFlags::SYN);
    assert_eq!(
        ignored(&tcb.on_packet(&read(&stray), t0)),
        ["unacceptable-ack"]
    );
    let rst = one(&mut tcb, t0);
    assert_eq!(
        (rst.seq, rst.ack, rst.flags),
        (ISS + 100, None, TcpFlags::RST)
    );
    assert_eq!(tcb.state(), State::SynSent);
}

#[test]
fn a_rst_at_exactly_rcv_nxt_resets_the_connection() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.send(b"unsent for ever");
    let rst = from_server(PEER + 1, None, TcpFlags::RST);
    let events = tcb.on_packet(&read(&rst), t0);
    assert_eq!(states(&events), [(State::Established, State::Closed)]);
    assert_eq!(written(&mut tcb, t0), []);
    assert_eq!(tcb.unacknowledged(), 0);
}

#[test]
fn a_rst_elsewhere_in_the_window_gets_a_challenge_ack() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let rst = from_server(PEER + 100, None, TcpFlags::RST);
    assert_eq!(ignored(&tcb.on_packet(&read(&rst), t0)), ["rst-not-exact"]);
    assert_eq!(tcb.state(), State::Established);
    let ack = one(&mut tcb, t0);
    assert_eq!((ack.flags, ack.ack), (TcpFlags::ACK, Some(PEER + 1)));
}

#[test]
fn a_rst_outside_the_window_is_dropped_without_an_answer() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let rst = from_server(PEER + 100_000, None, TcpFlags::RST);
    assert_eq!(ignored(&tcb.on_packet(&read(&rst), t0)), ["out-of-window"]);
    assert_eq!(tcb.state(), State::Established);
    assert_eq!(written(&mut tcb, t0), []);
}

#[test]
fn a_rst_in_syn_received_returns_a_server_to_listen() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    tcb.listen();
    let syn = Segment::new(CLIENT, SERVER, PEER, None, TcpFlags::SYN, 65535);
    tcb.on_packet(&read(&syn), t0);
    written(&mut tcb, t0);
    let rst = Segment::new(CLIENT, SERVER, PEER + 1, None, TcpFlags::RST, 0);
    let events = tcb.on_packet(&read(&rst), t0);
    assert_eq!(states(&events), [(State::SynReceived, State::Listen)]);
    assert_eq!(tcb.remote(), None);
    assert_eq!(tcb.next_deadline(), None);
}

#[test]
fn listen_ignores_a_rst_and_answers_an_ack_with_a_rst() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    tcb.listen();
    let rst = Segment::new(CLIENT, SERVER, PEER, None, TcpFlags::RST, 0);
    assert_eq!(ignored(&tcb.on_packet(&read(&rst), t0)), ["rst-in-listen"]);
    assert_eq!(written(&mut tcb, t0), []);
    let ack =
        Segment::new(CLIENT, SERVER, PEER, Some(SeqNumber(77)), TcpFlags(0), 0);
    assert_eq!(ignored(&tcb.on_packet(&read(&ack), t0)), ["ack-in-listen"]);
    let answer = Segment::new(SERVER, CLIENT, SeqNumber(77), None, TcpFlags::RST, 0);
    assert_eq!(written(&mut tcb, t0), [answer]);
    assert_eq!(tcb.state(), State::Listen);
}

#[test]
fn a_closed_tcb_answers_with_a_rst() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    let mut data = Segment::new(CLIENT, SERVER, PEER, None, TcpFlags::PSH, 0);
    data.payload = b"abc".to_vec();
    assert_eq!(ignored(&tcb.on_packet(&read(&data), t0)), ["closed"]);
    let rst = one(&mut tcb, t0);
    assert_eq!(
        (rst.seq, rst.ack, rst.flags),
        (SeqNumber(0), Some(PEER + 3), TcpFlags::RST | TcpFlags::ACK)
    );
}
// ANCHOR_END: rst_tests

// ANCHOR: window_rule_tests
#[test]
fn a_segment_outside_the_window_is_answered_with_an_ack() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    tcb.on_packet(&read(&data_from_server(PEER + 1, ISS + 1, b"Hello")), t0);
    written(&mut tcb, t0);
    // An old duplicate (bytes 1..6 again), and one far beyond the window.
    for seq in [PEER + 1, PEER + 70_000] {
        let segment = data_from_server(seq, ISS + 1, b"Hello");
        let events = tcb.on_packet(&read(&segment), t0);
        assert_eq!(ignored(&events), ["out-of-window"]);
        assert_eq!(data(&events), b"");
        let ack = one(&mut tcb, t0);
        assert_eq!(ack.ack, Some(PEER + 6), "what we expect next");
    }
}

#[test]
fn an_ack_of_data_never_sent_is_answered_and_dropped() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let segment = data_from_server(PEER + 1, ISS + 50, b"Hello client");
    let events = tcb.on_packet(&read(&segment), t0);
    assert_eq!(ignored(&events), ["ack-of-unsent"]);
    assert_eq!(data(&events), b"", "its data is dropped too");
    assert_eq!(one(&mut tcb, t0).ack, Some(PEER + 1));
}

#[test]
fn an_unacceptable_ack_in_syn_received_is_answered_with_a_rst() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    tcb.listen();
    tcb.on_packet(
        &read(&Segment::new(
            CLIENT,
            SERVER,
            PEER,
            None,
            TcpFlags::SYN,
            65535,
        )),
        t0,
    );
    written(&mut tcb, t0);
    let bad =
        Segment::new(CLIENT, SERVER, PEER + 1, Some(ISS + 9), TcpFlags(0), 512);
    assert_eq!(
        ignored(&tcb.on_packet(&read(&bad), t0)),
        ["unacceptable-ack"]
    );
    let rst = one(&mut tcb, t0);
    assert_eq!((rst.seq, rst.flags), (ISS + 9, TcpFlags::RST));
    assert_eq!(tcb.state(), State::SynReceived);
}

#[test]
fn a_syn_on_an_established_connection_gets_a_challenge_ack() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let syn = from_server(PEER + 1, None, TcpFlags::SYN);
    assert_eq!(
        ignored(&tcb.on_packet(&read(&syn), t0)),
        ["syn-on-connection"]
    );
    assert_eq!(tcb.state(), State::Established);
    assert_eq!(one(&mut tcb, t0).flags, TcpFlags::ACK);
}

#[test]
fn a_segment_without_ack_is_dropped_once_synchronized() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let mut segment = from_server(PEER + 1, None, TcpFlags::PSH);
    segment.payload = b"x".to_vec();
    let events = tcb.on_packet(&read(&segment), t0);
    assert_eq!(ignored(&events), ["no-ack"]);
    assert_eq!(data(&events), b"");
}
// ANCHOR_END: window_rule_tests

// ANCHOR: lost_tests
#[test]
fn the_peers_syn_again_means_our_syn_ack_was_lost_and_it_goes_again() {
    let t0 = Instant::now();
    let mut tcb = Tcb::new(config(), SERVER, ISS);
    tcb.listen();
    let syn = Segment::new(CLIENT, SERVER, PEER, None, TcpFlags::SYN, 65535);
    tcb.on_packet(&read(&syn), t0);
    let syn_ack = one(&mut tcb, t0);
    let events = tcb.on_packet(&read(&syn), t0 + 50 * MS);
    assert_eq!(ignored(&events), ["syn-again"]);
    assert_eq!(
        one(&mut tcb, t0 + 50 * MS),
        syn_ack,
        "at once, not at the timer"
    );
}

#[test]
fn the_peers_syn_ack_again_means_our_ack_was_lost_and_it_goes_again() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    tcb.on_packet(&read(&syn_ack), t0);
    let ack = one(&mut tcb, t0);
    let events = tcb.on_packet(&read(&syn_ack), t0 + 200 * MS);
    assert_eq!(ignored(&events), ["out-of-window"]);
    assert_eq!(one(&mut tcb, t0 + 200 * MS), ack);
    assert_eq!(tcb.state(), State::Established);
}
// ANCHOR_END: lost_tests

// ANCHOR: wrap_tests
#[test]
fn sequence_numbers_wrap_at_2_to_the_32_on_both_sides() {
    let t0 = Instant::now();
    // Both ISNs 3 below 2^32: the 12 bytes each way cross the wrap.
    let (iss, peer) = (SeqNumber(u32::MAX - 2), SeqNumber(u32::MAX - 2));
    let mut tcb = Tcb::new(config(), CLIENT, iss);
    tcb.connect(SERVER);
    written(&mut tcb, t0);
    tcb.on_packet(&read(&from_server(peer, Some(iss + 1), TcpFlags::SYN)), t0);
    written(&mut tcb, t0);
    tcb.send(b"Hello server");
    let sent = one(&mut tcb, t0);
    assert_eq!(sent.seq, SeqNumber(u32::MAX - 1));
    let reply = data_from_server(peer + 1, SeqNumber(10), b"Hello client");
    let events = tcb.on_packet(&read(&reply), t0);
    assert_eq!(data(&events), b"Hello client");
    assert_eq!(tcb.unacknowledged(), 0, "ack 10 covers all 12 bytes");
    assert_eq!(
        tcb.sequence(),
        (SeqNumber(10), SeqNumber(10), SeqNumber(10))
    );
    assert_eq!(one(&mut tcb, t0).ack, Some(SeqNumber(10)));
    // And the lines count from the ISNs, not from zero.
    let events = tcb.on_packet(
        &read(&data_from_server(SeqNumber(10), SeqNumber(10), b"!")),
        t0,
    );
    assert_eq!(
        events[0].to_string(),
        "  read  127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 13:14 ack 13 win 65535 len 1"
    );
}
// ANCHOR_END: wrap_tests

// ANCHOR: input_tests
#[test]
fn foreign_own_and_damaged_segments_are_counted_by_reason() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let other = SocketAddrV4::new(*SERVER.ip(), 7);
    let mut damaged = read(&data_from_server(PEER + 1, ISS + 1, b"Hello client"));
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    let cases = [
        (
            read(&Segment::new(other, CLIENT, PEER, None, TcpFlags::SYN, 0)),
            "other-peer",
        ),
        (
            read(&Segment::new(CLIENT, SERVER, ISS, None, TcpFlags::SYN, 0)),
            "own-copy",
        ),
        (
            read(&Segment::new(other, SERVER, PEER, None, TcpFlags::SYN, 0)),
            "foreign",
        ),
        (damaged, "bad-checksum"),
        (vec![0x45, 0, 0], "malformed:truncated"),
    ];
    for (bytes, reason) in &cases {
        assert_eq!(ignored(&tcb.on_packet(bytes, t0)), [*reason]);
    }
    assert_eq!(tcb.stats().ignored.total(), 5);
    assert_eq!(tcb.state(), State::Established);
    assert_eq!(written(&mut tcb, t0), [], "none is answered");
}

#[test]
fn a_partial_checksum_from_the_kernel_on_lo_is_accepted() {
    use step_01_socket::checksum::{PROTO_TCP, fold, pseudo_header};
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let segment = data_from_server(PEER + 1, ISS + 1, b"Hello client");
    let mut bytes = segment.to_bytes();
    let partial = fold(pseudo_header(
        *SERVER.ip(),
        *CLIENT.ip(),
        PROTO_TCP,
        bytes.len() as u16,
    ));
    step_01_socket::TcpPacket::new_unchecked(&mut bytes[..]).set_checksum(partial);
    let read = with_ipv4_header(*SERVER.ip(), *CLIENT.ip(), 1, &bytes);
    assert_eq!(data(&tcb.on_packet(&read, t0)), b"Hello client");
}

#[test]
fn a_malformed_option_is_counted_and_the_segment_taken_without_it() {
    let t0 = Instant::now();
    let mut tcb = syn_sent(t0);
    let syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN);
    let mut segment = syn_ack.to_bytes();
    // Room for 4 option bytes: an MSS option whose length says 9.
    segment.splice(20..20, [0x02, 0x09, 0x05, 0xb4]);
    segment[12] = 6 << 4;
    let mut view = step_01_socket::TcpPacket::new_unchecked(&mut segment[..]);
    view.fill_checksum(*SERVER.ip(), *CLIENT.ip());
    let events = tcb.on_packet(
        &with_ipv4_header(*SERVER.ip(), *CLIENT.ip(), 1, &segment),
        t0,
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::BadOption(OptionError::PastEnd { .. }))),
        "{events:?}"
    );
    assert_eq!(tcb.state(), State::Established);
    assert_eq!(tcb.peer_mss(), DEFAULT_MSS, "no MSS read: 536");
    assert_eq!(tcb.stats().ignored.get("option-past-end"), 1);
}

#[test]
fn every_truncation_of_a_segment_is_handled_without_a_panic() {
    let t0 = Instant::now();
    let mut tcb = established(t0);
    let mut syn =
        Segment::new(SERVER, CLIENT, PEER, Some(ISS + 1), TcpFlags::SYN, 9);
    syn.options = vec![
        TcpOption::Mss(1460),
        TcpOption::Nop,
        TcpOption::WindowScale(7),
    ];
    syn.payload = b"Hello".to_vec();
    let bytes = read(&syn);
    for len in 0..bytes.len() {
        tcb.on_packet(&bytes[..len], t0);
        while tcb.poll_transmit(t0).is_some() {}
    }
}
// ANCHOR_END: input_tests

#[test]
fn display_names_the_states_as_the_rfc_does() {
    let all = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];
    let names: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(
        names.join(" "),
        "CLOSED LISTEN SYN-SENT SYN-RECEIVED ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 \
         CLOSE-WAIT CLOSING LAST-ACK TIME-WAIT"
    );
}
