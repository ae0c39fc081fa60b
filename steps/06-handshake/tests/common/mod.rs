//! Two of our TCPs talking over a pretend wire, without any socket: each
//! segment one writes is read by the other as a raw socket would read it
//! (behind an IPv4 header), at a made-up time that moves only when nothing is
//! in flight, to the next deadline. A test may lose segments on the way.

#![allow(dead_code)] // each test file uses a different part

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use step_01_socket::SeqNumber;
use step_01_socket::testing::with_ipv4_header;
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER};
use step_06_handshake::{App, CloseWhen, Config, Event, Outgoing, State, Tcb};

/// The client's initial sequence number in these tests.
pub const CLIENT_ISS: SeqNumber = SeqNumber(1000);
/// The server's.
pub const SERVER_ISS: SeqNumber = SeqNumber(5000);

/// One end: its TCP and its application.
pub struct End {
    pub name: &'static str,
    pub tcb: Tcb,
    pub app: App,
}

/// Numbers that make a short transcript: resends after 200 ms, TIME-WAIT
/// 500 ms.
pub fn config() -> Config {
    Config {
        rto: Duration::from_millis(200),
        tries: 4,
        time_wait: Duration::from_millis(500),
        ..Config::default()
    }
}

/// Two ends, both ours, as the `client` and `server` modes run them: the
/// client sends `Hello server`; the server answers `Hello client` and closes;
/// the client closes in turn.
pub fn pair() -> (End, End) {
    let client = End {
        name: "client",
        tcb: Tcb::new(config(), CLIENT, CLIENT_ISS),
        app: App::Client {
            peer: SERVER,
            message: REQUEST.to_vec(),
            close_when: CloseWhen::PeerClosed,
            received: 0,
        },
    };
    let server = End {
        name: "server",
        tcb: Tcb::new(config(), SERVER, SERVER_ISS),
        app: App::Server {
            reply: REPLY.to_vec(),
            answered: false,
        },
    };
    (client, server)
}

/// What went over the wire, and what each end said.
#[derive(Default)]
pub struct Transcript {
    /// Every line, as the program prints them, with the time.
    pub text: String,
    /// Every segment written, in order: who wrote it, and whether it was lost.
    pub written: Vec<(&'static str, Outgoing, bool)>,
}

impl Transcript {
    fn line(&mut self, t: Duration, who: &str, what: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{:>4}ms {who}: {what}", t.as_millis());
    }
}

fn handle(end: &mut End, events: Vec<Event>, t: Duration, log: &mut Transcript) {
    let mut queue: std::collections::VecDeque<Event> = events.into();
    while let Some(event) = queue.pop_front() {
        log.line(t, end.name, &event);
        queue.extend(end.app.react(&event, &mut end.tcb));
    }
}

/// Runs the two ends until both are CLOSED (or 60 s of made-up time pass).
/// `lose(n, segment)` says whether the n-th segment written (from 0) is lost.
pub fn talk(
    client: &mut End,
    server: &mut End,
    mut lose: impl FnMut(usize, &Outgoing) -> bool,
) -> Transcript {
    let t0 = Instant::now();
    let mut now = t0;
    let mut log = Transcript::default();
    let events = server.app.start(&mut server.tcb);
    handle(server, events, now - t0, &mut log);
    let events = client.app.start(&mut client.tcb);
    handle(client, events, now - t0, &mut log);
    while now - t0 < Duration::from_secs(60) {
        let mut moved = false;
        for turn in 0..2 {
            let (from, to) = if turn == 0 {
                (&mut *client, &mut *server)
            } else {
                (&mut *server, &mut *client)
            };
            moved |= deliver(from, to, now, t0, &mut log, &mut lose);
        }
        if moved {
            continue;
        }
        let next = [client.tcb.next_deadline(), server.tcb.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        for end in [&mut *client, &mut *server] {
            let events = end.tcb.on_timeout(now);
            handle(end, events, now - t0, &mut log);
        }
    }
    log
}

/// Writes everything `from` has to write now; `to` reads what is not lost.
/// Whether anything was written.
fn deliver(
    from: &mut End,
    to: &mut End,
    now: Instant,
    t0: Instant,
    log: &mut Transcript,
    lose: &mut impl FnMut(usize, &Outgoing) -> bool,
) -> bool {
    let mut moved = false;
    while let Some(out) = from.tcb.poll_transmit(now) {
        moved = true;
        let lost = lose(log.written.len(), &out);
        let how = if lost { "LOST " } else { "wrote" };
        log.line(now - t0, from.name, format!("  {how} {}", out.seen));
        log.written.push((from.name, out.clone(), lost));
        if lost {
            continue;
        }
        let segment = &out.seen.segment;
        let (src, dst) = (*segment.src.ip(), *segment.dst.ip());
        let bytes = with_ipv4_header(src, dst, 1, &out.bytes);
        let events = to.tcb.on_packet(&bytes, now);
        handle(to, events, now - t0, log);
    }
    moved
}

/// Whether both ends are closed.
pub fn both_closed(client: &End, server: &End) -> bool {
    client.tcb.state() == State::Closed && server.tcb.state() == State::Closed
}
