//! The echo's two sides as plain state machines, free of I/O.
//!
//! The program reads bytes from a raw socket and hands them in together with the
//! time; a machine answers with segments to write and events to print. Nothing
//! here opens a socket or reads a clock, so every rule of the exchange can be
//! tested without privileges.
//!
//! The exchange, with the fixed initial sequence numbers (no handshake, so both
//! sides simply agree on 1):
//!
//! ```text
//!  client 127.0.0.2:50001                          server 127.0.0.1:50000
//!     |  [P.] seq 1:13 ack 1   "Hello server"  ------>  |
//!     |  <------  [P.] seq 1:13 ack 13  "Hello client"  |
//!     |  [P.] seq 13:25 ack 13 "Hello server"  ------>  |
//!     |  <------  [P.] seq 13:25 ack 25 "Hello client"  |
//! ```
//!
//! Each side's sequence number advances by the 12 bytes it sent; each reply
//! acknowledges the request's last byte + 1, which is how the client knows which
//! request a reply answers.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use step_01_socket::{
    ParseError, Received, SeqNumber, TcpPacket, TcpRepr, parse_received, summary,
};
use step_02_bind_connect::{REPLY, REQUEST, Verdict, classify, data_segment};

use crate::args::show_duration;
use crate::stats::IgnoredCounts;

// ANCHOR: isn
/// The client's initial sequence number: request `n` (counting from 1) has
/// sequence number `1 + 12 * (n - 1)`.
pub const CLIENT_ISN: SeqNumber = SeqNumber(1);
/// The server's initial sequence number: reply `n` has `1 + 12 * (n - 1)`.
pub const SERVER_ISN: SeqNumber = SeqNumber(1);
// ANCHOR_END: isn

/// A segment to write (TCP header + payload, no IPv4 header) and its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The request's or reply's number, counting from 1.
    pub number: u64,
    /// The bytes to write.
    pub segment: Vec<u8>,
    /// The tcpdump-style line for it.
    pub summary: String,
}

/// Why a received segment was not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not from the peer to us by address *and* port: a kernel RST, our own
    /// segment read back on `lo`, or someone else's traffic.
    Verdict(Verdict),
    /// From the peer but without data: nothing to answer or to match.
    NoPayload,
    /// A reply whose acknowledgment matches no request we sent.
    UnknownAck,
    /// A second reply to a request already answered.
    Duplicate,
    /// A reply to a request already reported lost.
    Late,
    /// Not a well-formed IPv4 + TCP packet: counted and skipped.
    Malformed(ParseError),
}

impl Ignored {
    /// The name it is counted under: `kernel-rst`, `duplicate`,
    /// `malformed:truncated`, ...
    pub fn reason(&self) -> String {
        match self {
            Ignored::Verdict(verdict) => verdict.reason().to_owned(),
            Ignored::NoPayload => "no-payload".to_owned(),
            Ignored::UnknownAck => "unknown-ack".to_owned(),
            Ignored::Duplicate => "duplicate".to_owned(),
            Ignored::Late => "late".to_owned(),
            Ignored::Malformed(error) => format!("malformed:{}", error.reason()),
        }
    }
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::Malformed(error) => write!(f, "{}: {error}", self.reason()),
            _ => f.write_str(&self.reason()),
        }
    }
}

/// The payload as text, printable ASCII as is and `.` for anything else.
pub fn text(payload: &[u8]) -> String {
    payload
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// The summary line of a segment we built, read back from its bytes.
fn describe(src: SocketAddrV4, dst: SocketAddrV4, segment: &[u8]) -> String {
    match TcpPacket::new_checked(segment) {
        Ok(view) => summary(src, dst, &TcpRepr::parse(&view)),
        Err(error) => format!("unparsable segment: {error}"),
    }
}

// ANCHOR: from_peer
/// The bytes of one read, checked and sorted: the peer's segment with data, or
/// the reason to ignore it (and its summary, when it parsed). The server and
/// the client filter with it, and so do the exercises' machines.
pub fn from_peer<'a>(
    bytes: &'a [u8],
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<Received<'a>, (Ignored, Option<String>)> {
    let packet = parse_received(bytes).map_err(|e| (Ignored::Malformed(e), None))?;
    let line = packet.summary();
    // Addresses *and* ports, then the RST flag: see step 2's `classify`.
    match classify(&packet, me, peer) {
        Verdict::FromPeer => {}
        other => return Err((Ignored::Verdict(other), Some(line))),
    }
    if packet.tcp.payload().is_empty() {
        return Err((Ignored::NoPayload, Some(line)));
    }
    Ok(packet)
}
// ANCHOR_END: from_peer

/// What the server made of one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOutcome {
    /// A request from the peer, and the reply to write.
    Request {
        /// The request's summary line.
        summary: String,
        /// Its payload.
        payload: Vec<u8>,
        /// The reply.
        reply: Outgoing,
    },
    /// Not a request.
    Ignored {
        /// Why.
        reason: Ignored,
        /// The segment's summary line, when it parsed.
        summary: Option<String>,
    },
}

// ANCHOR: server
/// The server: answers every data segment from its peer with `Hello client`.
#[derive(Debug, Clone)]
pub struct Server {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    /// The sequence number of our next reply's first byte.
    next_seq: SeqNumber,
    requests: u64,
    ignored: IgnoredCounts,
}

impl Server {
    /// A server at `me` that answers `peer`.
    pub fn new(me: SocketAddrV4, peer: SocketAddrV4) -> Server {
        Server {
            me,
            peer,
            next_seq: SERVER_ISN,
            requests: 0,
            ignored: IgnoredCounts::default(),
        }
    }

    /// Takes the bytes of one read (IPv4 header included). A data segment from
    /// the peer gets a reply that acknowledges its bytes (ack = seq + payload
    /// length) and carries `Hello client`; anything else is counted by reason.
    pub fn on_packet(&mut self, bytes: &[u8]) -> ServerOutcome {
        let request = match from_peer(bytes, self.me, self.peer) {
            Ok(packet) => packet,
            Err((reason, summary)) => {
                self.ignored.add(&reason.reason());
                return ServerOutcome::Ignored { reason, summary };
            }
        };
        let tcp = request.tcp_repr();
        let ack = tcp.seq + tcp.payload.len();
        let segment = data_segment(self.me, self.peer, self.next_seq, ack, REPLY);
        self.next_seq = self.next_seq + REPLY.len();
        self.requests += 1;
        ServerOutcome::Request {
            summary: request.summary(),
            payload: tcp.payload.to_vec(),
            reply: Outgoing {
                number: self.requests,
                summary: describe(self.me, self.peer, &segment),
                segment,
            },
        }
    }
}
// ANCHOR_END: server

impl Server {
    /// Our address and port.
    pub fn me(&self) -> SocketAddrV4 {
        self.me
    }

    /// The client's address and port.
    pub fn peer(&self) -> SocketAddrV4 {
        self.peer
    }

    /// Requests answered so far (each got one reply).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// What was ignored, by reason.
    pub fn ignored(&self) -> &IgnoredCounts {
        &self.ignored
    }

    /// `received 5 requests, sent 5 replies`
    pub fn summary(&self) -> String {
        format!(
            "received {} requests, sent {} replies",
            self.requests, self.requests
        )
    }
}

/// How the client paces its requests and how long it waits for each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How many requests to send; `None` sends until stopped.
    pub count: Option<u64>,
    /// The time between two requests.
    pub interval: Duration,
    /// How long to wait for each reply before reporting it lost.
    pub timeout: Duration,
}

/// What the client made of one read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The reply to request `number`.
    Reply {
        /// Which request it answers.
        number: u64,
        /// The reply's summary line.
        summary: String,
        /// Its payload.
        payload: Vec<u8>,
    },
    /// Not a reply we were waiting for.
    Ignored {
        /// Why.
        reason: Ignored,
        /// The segment's summary line, when it parsed.
        summary: Option<String>,
    },
}

/// A request that got no reply in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The request's number.
    pub number: u64,
    /// Its sequence number.
    pub seq: SeqNumber,
    /// How long the client waited.
    pub timeout: Duration,
}

impl fmt::Display for Lost {
    /// `no reply to request 3 (seq 25) within 1s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no reply to request {} (seq {}) within {}",
            self.number,
            self.seq,
            show_duration(self.timeout)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Answered,
    Lost,
}

#[derive(Debug, Clone, Copy)]
struct Request {
    seq: SeqNumber,
    deadline: Instant,
    state: State,
}

/// The client: sends `Hello server` every `interval`, matches each reply to its
/// request by the acknowledgment number, and gives up on a reply after
/// `timeout`.
#[derive(Debug, Clone)]
pub struct Client {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    config: ClientConfig,
    /// The sequence number of our next request's first byte.
    next_seq: SeqNumber,
    /// What we acknowledge: the server's next sequence number, as far as we
    /// know. Both sides start at 1, by agreement: there is no handshake.
    ack: SeqNumber,
    /// When the next request is due.
    next_send: Instant,
    /// Every request sent; request `n` is at index `n - 1`.
    requests: Vec<Request>,
    /// Index of the request a reply acknowledging this number answers.
    by_ack: HashMap<SeqNumber, usize>,
    /// Requests before this index are answered or lost.
    settled: usize,
    answered: u64,
    lost: u64,
    ignored: IgnoredCounts,
}

impl Client {
    /// A client at `me` talking to the server at `peer`; the first request is
    /// due at `start`.
    pub fn new(
        me: SocketAddrV4,
        peer: SocketAddrV4,
        config: ClientConfig,
        start: Instant,
    ) -> Client {
        Client {
            me,
            peer,
            config,
            next_seq: CLIENT_ISN,
            ack: SERVER_ISN,
            next_send: start,
            requests: Vec::new(),
            by_ack: HashMap::new(),
            settled: 0,
            answered: 0,
            lost: 0,
            ignored: IgnoredCounts::default(),
        }
    }

    // ANCHOR: client_send
    /// The next request, if one is due at `now`. Its sequence number advances
    /// ours by the 12 bytes of `Hello server`; its ack is the server's next
    /// sequence number as far as we know.
    pub fn poll_send(&mut self, now: Instant) -> Option<Outgoing> {
        if self.all_sent() || now < self.next_send {
            return None;
        }
        let segment =
            data_segment(self.me, self.peer, self.next_seq, self.ack, REQUEST);
        let expected_ack = self.next_seq + REQUEST.len();
        self.by_ack.insert(expected_ack, self.requests.len());
        self.requests.push(Request {
            seq: self.next_seq,
            deadline: now + self.config.timeout,
            state: State::Waiting,
        });
        self.next_seq = expected_ack;
        self.next_send = now + self.config.interval;
        Some(Outgoing {
            number: self.requests.len() as u64,
            summary: describe(self.me, self.peer, &segment),
            segment,
        })
    }
    // ANCHOR_END: client_send

    // ANCHOR: client_match
    /// Takes the bytes of one read. A data segment from the server whose ack is
    /// a waiting request's seq + 12 is that request's reply; anything else is
    /// counted by reason: a second reply as `duplicate`, one after the request
    /// was reported lost as `late`, an ack we never caused as `unknown-ack`.
    pub fn on_packet(&mut self, bytes: &[u8], _now: Instant) -> ClientEvent {
        let packet = match from_peer(bytes, self.me, self.peer) {
            Ok(packet) => packet,
            Err((reason, summary)) => return self.ignore(reason, summary),
        };
        let tcp = packet.tcp_repr();
        let Some(&index) = self.by_ack.get(&tcp.ack) else {
            return self.ignore(Ignored::UnknownAck, Some(packet.summary()));
        };
        let request = &mut self.requests[index];
        match request.state {
            State::Waiting => request.state = State::Answered,
            State::Answered => {
                return self.ignore(Ignored::Duplicate, Some(packet.summary()));
            }
            State::Lost => {
                return self.ignore(Ignored::Late, Some(packet.summary()));
            }
        }
        self.answered += 1;
        // Acknowledge the server's bytes from now on, never moving backwards.
        let end = tcp.seq + tcp.payload.len();
        if end - self.ack > 0 {
            self.ack = end;
        }
        self.skip_settled();
        ClientEvent::Reply {
            number: index as u64 + 1,
            summary: packet.summary(),
            payload: tcp.payload.to_vec(),
        }
    }
    // ANCHOR_END: client_match

    fn ignore(&mut self, reason: Ignored, summary: Option<String>) -> ClientEvent {
        self.ignored.add(&reason.reason());
        ClientEvent::Ignored { reason, summary }
    }

    // ANCHOR: client_timeout
    /// Reports every request whose reply is overdue at `now` as lost, once.
    /// (Sending it again is a later step's business.)
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Lost> {
        let mut lost = Vec::new();
        self.skip_settled();
        // Requests were sent in order with the same timeout, so their deadlines
        // are in order too: stop at the first one not yet due.
        while let Some(request) = self.requests.get_mut(self.settled) {
            if now < request.deadline {
                break;
            }
            request.state = State::Lost;
            self.lost += 1;
            lost.push(Lost {
                number: self.settled as u64 + 1,
                seq: request.seq,
                timeout: self.config.timeout,
            });
            self.skip_settled();
        }
        lost
    }

    /// When something is next due: a request to send, or a reply's deadline.
    /// `None` once the client is done.
    pub fn next_deadline(&self) -> Option<Instant> {
        let send = (!self.all_sent()).then_some(self.next_send);
        let reply = self.oldest_waiting().map(|request| request.deadline);
        match (send, reply) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    // ANCHOR_END: client_timeout

    fn skip_settled(&mut self) {
        while self
            .requests
            .get(self.settled)
            .is_some_and(|request| request.state != State::Waiting)
        {
            self.settled += 1;
        }
    }

    fn oldest_waiting(&self) -> Option<&Request> {
        self.requests[self.settled..]
            .iter()
            .find(|request| request.state == State::Waiting)
    }

    fn all_sent(&self) -> bool {
        self.config
            .count
            .is_some_and(|count| self.requests.len() as u64 >= count)
    }

    /// Every request sent, and each one answered or lost.
    pub fn is_done(&self) -> bool {
        self.all_sent() && self.oldest_waiting().is_none()
    }

    /// Done, and every request answered.
    pub fn succeeded(&self) -> bool {
        self.is_done() && self.lost == 0
    }

    /// Our address and port.
    pub fn me(&self) -> SocketAddrV4 {
        self.me
    }

    /// The pacing and bounds it was made with.
    pub fn config(&self) -> ClientConfig {
        self.config
    }

    /// The server's address and port.
    pub fn peer(&self) -> SocketAddrV4 {
        self.peer
    }

    /// Requests sent so far.
    pub fn sent(&self) -> u64 {
        self.requests.len() as u64
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// Requests reported lost so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// What was ignored, by reason.
    pub fn ignored(&self) -> &IgnoredCounts {
        &self.ignored
    }

    /// `sent 5 requests, 5 replies received, 0 lost`, and how many were still
    /// waiting if the client was stopped early.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "sent {} requests, {} replies received, {} lost",
            self.sent(),
            self.answered,
            self.lost
        );
        let waiting = self.sent() - self.answered - self.lost;
        if waiting > 0 {
            line.push_str(&format!(", {waiting} still waiting"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::net::Ipv4Addr;
    use step_01_socket::{Ipv4Packet, Ipv4Repr, TcpFlags};
    use step_02_bind_connect::{CLIENT, SERVER};

    const MS: Duration = Duration::from_millis(1);

    fn config(count: u64) -> ClientConfig {
        ClientConfig {
            count: Some(count),
            interval: 100 * MS,
            timeout: 1000 * MS,
        }
    }

    /// What a raw socket reads: a 20-byte IPv4 header (fixed id) and `segment`.
    fn ip_packet(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: 6,
            ident: 0x1234,
            ttl: 64,
            payload_len: segment.len(),
        };
        let mut bytes = vec![0u8; repr.header_len() + segment.len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]));
        bytes[repr.header_len()..].copy_from_slice(segment);
        bytes
    }

    /// A segment from `src` to `dst`, as read from a raw socket.
    fn read(
        src: SocketAddrV4,
        dst: SocketAddrV4,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) -> Vec<u8> {
        let repr = TcpRepr {
            src_port: src.port(),
            dst_port: dst.port(),
            seq: SeqNumber(seq),
            ack: SeqNumber(ack),
            flags,
            window: 65535,
            payload,
        };
        ip_packet(*src.ip(), *dst.ip(), &repr.to_bytes(*src.ip(), *dst.ip()))
    }

    fn psh_ack() -> TcpFlags {
        TcpFlags::PSH | TcpFlags::ACK
    }

    fn reply_to(ack: u32) -> Vec<u8> {
        read(SERVER, CLIENT, 1, ack, psh_ack(), REPLY)
    }

    fn ignored(event: ClientEvent) -> String {
        match event {
            ClientEvent::Ignored { reason, .. } => reason.reason(),
            other => panic!("expected an ignored segment, got {other:?}"),
        }
    }

    #[test]
    fn server_answers_a_request_acknowledging_its_bytes() {
        let mut server = Server::new(SERVER, CLIENT);
        let request = read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST);
        let ServerOutcome::Request {
            summary,
            payload,
            reply,
        } = server.on_packet(&request)
        else {
            panic!("not answered");
        };
        assert_eq!(
            summary,
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        );
        assert_eq!(payload, REQUEST);
        assert_eq!(reply.number, 1);
        assert_eq!(
            reply.summary,
            "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 1:13 ack 13 win 65535 len 12"
        );
        let view = TcpPacket::new_checked(&reply.segment[..]).unwrap();
        assert_eq!(view.payload(), REPLY);
        assert!(view.verify_checksum(*SERVER.ip(), *CLIENT.ip()));
        assert_eq!(server.summary(), "received 1 requests, sent 1 replies");
    }

    #[test]
    fn server_reply_seq_advances_and_ack_follows_the_request() {
        let mut server = Server::new(SERVER, CLIENT);
        server.on_packet(&read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST));
        // Any payload length: ack = seq + len.
        let outcome =
            server.on_packet(&read(CLIENT, SERVER, 13, 13, psh_ack(), b"hi"));
        let ServerOutcome::Request { reply, .. } = outcome else {
            panic!("not answered");
        };
        let view = TcpPacket::new_checked(&reply.segment[..]).unwrap();
        assert_eq!(view.seq_number(), SeqNumber(13));
        assert_eq!(view.ack_number(), SeqNumber(15));
        assert_eq!(reply.number, 2);
    }

    #[test]
    fn server_ignores_by_reason() {
        let mut server = Server::new(SERVER, CLIENT);
        let cases = [
            // The kernel's RST to our reply.
            (
                read(CLIENT, SERVER, 13, 0, TcpFlags::RST, b""),
                "kernel-rst",
            ),
            // Our own reply read back (same address on both ends).
            (read(SERVER, CLIENT, 1, 13, psh_ack(), REPLY), "own-copy"),
            // The kernel's RST to the client's request, seen from the server's
            // side when both ends share an address: not our copy.
            (read(SERVER, CLIENT, 1, 0, TcpFlags::RST, b""), "kernel-rst"),
            // Right addresses, wrong port: someone else's connection.
            (
                read(
                    SocketAddrV4::new(*CLIENT.ip(), 40000),
                    SERVER,
                    1,
                    1,
                    psh_ack(),
                    REQUEST,
                ),
                "foreign",
            ),
            (read(CLIENT, SERVER, 1, 1, TcpFlags::ACK, b""), "no-payload"),
            (vec![0x45, 0, 0], "malformed:truncated"),
        ];
        for (bytes, reason) in cases {
            match server.on_packet(&bytes) {
                ServerOutcome::Ignored { reason: got, .. } => {
                    assert_eq!(got.reason(), reason)
                }
                other => panic!("{reason}: answered {other:?}"),
            }
        }
        assert_eq!(server.requests(), 0);
        assert_eq!(
            server.ignored().to_string(),
            "foreign 1, kernel-rst 2, malformed:truncated 1, no-payload 1, own-copy 1"
        );
    }

    #[test]
    fn client_paces_its_requests() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        assert_eq!(client.next_deadline(), Some(t0));
        let first = client.poll_send(t0).expect("due at start");
        assert_eq!(first.number, 1);
        assert_eq!(
            first.summary,
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        );
        assert_eq!(client.poll_send(t0 + 99 * MS), None);
        assert_eq!(client.next_deadline(), Some(t0 + 100 * MS));
        let second = client.poll_send(t0 + 100 * MS).expect("due after interval");
        assert_eq!(
            second.summary,
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 13:25 ack 1 win 65535 len 12"
        );
        assert_eq!(client.poll_send(t0 + 10_000 * MS), None, "count reached");
        // Now only the first reply's deadline is left.
        assert_eq!(client.next_deadline(), Some(t0 + 1000 * MS));
    }

    #[test]
    fn client_matches_replies_by_ack() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        client.poll_send(t0);
        client.poll_send(t0 + 100 * MS);
        // The second request's reply first: ack 25 = seq 13 + 12.
        let event =
            client.on_packet(&read(SERVER, CLIENT, 1, 25, psh_ack(), REPLY), t0);
        assert_eq!(
            event,
            ClientEvent::Reply {
                number: 2,
                summary: "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 1:13 ack 25 win 65535 len 12"
                    .into(),
                payload: REPLY.to_vec(),
            }
        );
        assert!(!client.is_done());
        let event = client.on_packet(&reply_to(13), t0);
        assert!(matches!(event, ClientEvent::Reply { number: 1, .. }));
        assert!(client.is_done());
        assert!(client.succeeded());
        assert_eq!(client.next_deadline(), None);
        assert_eq!(
            client.summary(),
            "sent 2 requests, 2 replies received, 0 lost"
        );
    }

    #[test]
    fn client_acknowledges_the_servers_bytes() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        client.poll_send(t0);
        client.on_packet(&reply_to(13), t0);
        let second = client.poll_send(t0 + 100 * MS).unwrap();
        let view = TcpPacket::new_checked(&second.segment[..]).unwrap();
        assert_eq!(view.seq_number(), SeqNumber(13));
        assert_eq!(view.ack_number(), SeqNumber(13));
    }

    #[test]
    fn client_counts_a_duplicate_once() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        client.poll_send(t0);
        assert!(matches!(
            client.on_packet(&reply_to(13), t0),
            ClientEvent::Reply { number: 1, .. }
        ));
        assert_eq!(ignored(client.on_packet(&reply_to(13), t0)), "duplicate");
        assert_eq!(client.answered(), 1);
        assert_eq!(client.ignored().get("duplicate"), 1);
    }

    #[test]
    fn client_ignores_by_reason() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        client.poll_send(t0);
        let cases = [
            (
                read(SERVER, CLIENT, 13, 0, TcpFlags::RST, b""),
                "kernel-rst",
            ),
            (read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST), "own-copy"),
            (read(CLIENT, SERVER, 1, 0, TcpFlags::RST, b""), "kernel-rst"),
            (
                read(
                    SocketAddrV4::new(*SERVER.ip(), 7),
                    CLIENT,
                    1,
                    13,
                    psh_ack(),
                    REPLY,
                ),
                "foreign",
            ),
            (
                read(SERVER, CLIENT, 1, 13, TcpFlags::ACK, b""),
                "no-payload",
            ),
            (reply_to(14), "unknown-ack"),
            (reply_to(1), "unknown-ack"),
        ];
        for (bytes, reason) in cases {
            assert_eq!(ignored(client.on_packet(&bytes, t0)), reason);
        }
        assert_eq!(client.answered(), 0);
        assert!(!client.is_done());
    }

    #[test]
    fn a_malformed_read_is_counted_not_a_panic() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        let mut bytes = reply_to(13);
        bytes[20 + 12] = 0xf0; // data offset 15 words: past the segment's end
        assert_eq!(
            ignored(client.on_packet(&bytes, t0)),
            "malformed:data-offset-past-end"
        );
        for len in 0..bytes.len() {
            client.on_packet(&bytes[..len], t0);
        }
        assert_eq!(client.ignored().total(), 1 + bytes.len() as u64);
    }

    #[test]
    fn a_missing_reply_is_reported_once_then_a_late_one_is_ignored() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        client.poll_send(t0);
        client.poll_send(t0 + 100 * MS);
        assert_eq!(client.on_timeout(t0 + 999 * MS), vec![]);
        let lost = client.on_timeout(t0 + 1000 * MS);
        assert_eq!(
            lost,
            vec![Lost {
                number: 1,
                seq: SeqNumber(1),
                timeout: 1000 * MS
            }]
        );
        assert_eq!(
            lost[0].to_string(),
            "no reply to request 1 (seq 1) within 1s"
        );
        assert_eq!(client.on_timeout(t0 + 1050 * MS), vec![], "reported once");
        assert_eq!(client.next_deadline(), Some(t0 + 1100 * MS));
        assert_eq!(ignored(client.on_packet(&reply_to(13), t0)), "late");
        let lost = client.on_timeout(t0 + 5000 * MS);
        assert_eq!(lost.len(), 1);
        assert_eq!(
            lost[0].to_string(),
            "no reply to request 2 (seq 13) within 1s"
        );
        assert!(client.is_done());
        assert!(!client.succeeded());
        assert_eq!(
            client.summary(),
            "sent 2 requests, 0 replies received, 2 lost"
        );
    }

    #[test]
    fn the_wait_for_the_last_reply_is_bounded() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        client.poll_send(t0);
        // Nothing more to send: the only deadline left is the reply's.
        assert_eq!(client.next_deadline(), Some(t0 + 1000 * MS));
        assert_eq!(client.on_timeout(t0 + 1000 * MS).len(), 1);
        assert!(client.is_done());
        assert_eq!(client.next_deadline(), None);
    }

    #[test]
    fn without_a_count_the_client_keeps_going() {
        let t0 = Instant::now();
        let forever = ClientConfig {
            count: None,
            ..config(0)
        };
        let mut client = Client::new(CLIENT, SERVER, forever, t0);
        for i in 0..50 {
            assert!(client.poll_send(t0 + i * 100 * MS).is_some());
        }
        assert!(!client.is_done());
        assert_eq!(
            client.summary(),
            "sent 50 requests, 0 replies received, 0 lost, 50 still waiting"
        );
    }

    #[test]
    fn text_shows_printable_ascii_only() {
        assert_eq!(text(b"Hello\r\n\x00\xff~"), "Hello....~");
    }
}
