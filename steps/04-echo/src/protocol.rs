//! The echo's two sides as plain state machines, free of I/O.
//!
//! The program reads bytes from a raw socket and hands them in together with the
//! time; a machine answers with what it made of them: typed events that borrow
//! the bytes read and the segments it built, with the segments to write among
//! them. Nothing here opens a socket or reads a clock, so every rule of the
//! exchange can be tested without privileges.
//!
//! The events print as the demo's lines (their `Display`), but only where
//! something prints them: a machine formats nothing itself. After its first
//! thousand or so requests it allocates nothing either: it builds each segment
//! into a buffer it keeps, and remembers its last [`REMEMBERED`] requests in
//! room it reuses.
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
//!
//! Nothing below the raw socket resends a lost segment, so the client does: a
//! request whose reply has not come in time is sent again, the same bytes, after
//! a wait that doubles each time, a bounded number of times. The server answers
//! a request it has answered before with the same reply again.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use step_01_socket::{
    ChecksumCheck, ParseError, Received, SeqNumber, TcpPacket, parse_received,
    segment_summary,
};
use step_02_bind_connect::{REPLY, REQUEST, Verdict, classify, data_repr};

use crate::stats::{IgnoredCounts, Reason};
use support::args::show_duration;

// ANCHOR: isn
/// The client's initial sequence number: request `n` (counting from 1) has
/// sequence number `1 + 12 * (n - 1)`.
pub const CLIENT_ISN: SeqNumber = SeqNumber(1);
/// The server's initial sequence number: reply `n` has `1 + 12 * (n - 1)`.
pub const SERVER_ISN: SeqNumber = SeqNumber(1);
// ANCHOR_END: isn

/// A segment a machine built, to write: TCP header and payload, no IPv4
/// header. It borrows the machine's buffer: write it before the next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// The request's or reply's number, counting from 1.
    pub number: u64,
    /// Who sends it.
    pub src: SocketAddrV4,
    /// To whom.
    pub dst: SocketAddrV4,
    /// The bytes to write.
    pub segment: &'a [u8],
}

impl fmt::Display for Outgoing<'_> {
    /// The tcpdump-style line, read back from the bytes:
    /// `TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // We filled the checksum in: it must verify.
        let check = ChecksumCheck::Verify;
        match segment_summary(self.src, self.dst, self.segment, check) {
            Ok(line) => f.write_str(&line),
            Err(error) => write!(f, "unparsable segment: {error}"),
        }
    }
}

/// Emits a data segment from `src` to `dst` into `out`, replacing what it
/// held: step 2's `data_segment`, into a buffer that is reused, so that
/// after the first segment no write needs new memory.
fn build(
    out: &mut Vec<u8>,
    (src, dst): (SocketAddrV4, SocketAddrV4),
    seq: SeqNumber,
    ack: SeqNumber,
    payload: &[u8],
) {
    let repr = data_repr(src, dst, seq, ack, payload);
    out.clear();
    out.resize(repr.segment_len(), 0);
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut out[..]),
        *src.ip(),
        *dst.ip(),
    );
}

/// Why a received segment was not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not from the peer to us by address *and* port: a kernel RST, our own
    /// segment read back on `lo`, or someone else's traffic.
    Verdict(Verdict),
    /// From the peer but without data: nothing to answer or to match.
    NoPayload,
    /// From the peer, with data, but its TCP checksum does not verify: the
    /// bytes were damaged, or built wrong. Answering or matching them would
    /// act on bytes nobody sent.
    BadChecksum,
    /// A request at a sequence number the server answered already, carrying
    /// other bytes: not a resend of it, and not a new request either.
    ReusedSeq,
    /// A reply whose acknowledgment matches no request we sent.
    UnknownAck,
    /// A second reply to a request already answered.
    Duplicate,
    /// A reply to a request already reported lost, or to one so old that the
    /// client no longer keeps it (see [`REMEMBERED`]).
    Late,
    /// Not a well-formed IPv4 + TCP packet: counted and skipped.
    Malformed(ParseError),
}

impl Ignored {
    /// The name it is counted under: `kernel-rst`, `duplicate`,
    /// `malformed:truncated`, ...
    pub fn reason(&self) -> Reason {
        Reason::named(match self {
            Ignored::Verdict(verdict) => verdict.reason(),
            Ignored::NoPayload => "no-payload",
            Ignored::BadChecksum => "bad-checksum",
            Ignored::ReusedSeq => "reused-seq",
            Ignored::UnknownAck => "unknown-ack",
            Ignored::Duplicate => "duplicate",
            Ignored::Late => "late",
            Ignored::Malformed(error) => {
                return Reason::with_detail("malformed", error.reason());
            }
        })
    }
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::Malformed(error) => write!(f, "{}: {error}", self.reason()),
            _ => fmt::Display::fmt(&self.reason(), f),
        }
    }
}

/// The payload as text, printable ASCII as is and `.` for anything else: step
/// 1's `printable`, under the name the echo prints with.
pub use step_01_socket::dump::printable as text;

// ANCHOR: from_peer
/// The bytes of one read, checked and sorted: the peer's segment with data, or
/// the reason to ignore it (and the packet, when it parsed). The server and
/// the client filter with it, and so do the exercises' machines.
#[expect(
    clippy::result_large_err,
    reason = "the error carries the packet as the success does: boxing it would \
              take memory for every segment ignored, a RST per round trip"
)]
pub fn from_peer<'a>(
    bytes: &'a [u8],
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<Received<'a>, (Ignored, Option<Received<'a>>)> {
    let packet = parse_received(bytes).map_err(|e| (Ignored::Malformed(e), None))?;
    // Addresses *and* ports, then the RST flag: see step 2's `classify`.
    match classify(&packet, me, peer) {
        Verdict::FromPeer => {}
        other => return Err((Ignored::Verdict(other), Some(packet))),
    }
    if packet.tcp.payload().is_empty() {
        return Err((Ignored::NoPayload, Some(packet)));
    }
    // Our peers always fill in the whole checksum. (The kernel's partial ones
    // on `lo`, as on its SYNs, are on its own segments, sorted out above.)
    if !packet
        .tcp
        .verify_checksum(packet.ip.src_addr(), packet.ip.dst_addr())
    {
        return Err((Ignored::BadChecksum, Some(packet)));
    }
    Ok(packet)
}
// ANCHOR_END: from_peer

/// A read a machine did not act on: why, and the packet when it parsed.
#[derive(Debug, Clone, Copy)]
pub struct Ignoring<'a> {
    /// Why.
    pub reason: Ignored,
    /// The packet, when it parsed.
    pub packet: Option<Received<'a>>,
}

impl fmt::Display for Ignoring<'_> {
    /// `ignored kernel-rst  TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ignored {}", self.reason)?;
        match &self.packet {
            Some(packet) => write!(f, "  {}", packet.summary()),
            None => Ok(()),
        }
    }
}

// ANCHOR: server_event
/// What the server made of one read.
#[derive(Debug, Clone, Copy)]
pub enum ServerEvent<'a> {
    /// A request from the peer, and the reply to write.
    Request {
        /// The request, as read.
        request: Received<'a>,
        /// The reply.
        reply: Outgoing<'a>,
    },
    /// A request answered before, sent again by the client (our reply was
    /// lost, or slower than the client's wait): the same reply, byte for byte.
    Resent {
        /// The request, as read.
        request: Received<'a>,
        /// The reply written the first time, to write again.
        reply: Outgoing<'a>,
    },
    /// Not a request.
    Ignored(Ignoring<'a>),
}

impl<'a> ServerEvent<'a> {
    /// The segment to write, if there is one.
    pub fn reply(&self) -> Option<Outgoing<'a>> {
        match self {
            ServerEvent::Request { reply, .. }
            | ServerEvent::Resent { reply, .. } => Some(*reply),
            ServerEvent::Ignored(_) => None,
        }
    }
}

impl fmt::Display for ServerEvent<'_> {
    /// The demo's lines: `server: Received : Hello server` and the request's
    /// summary; `server: Received again: request 3 resent`; or why it was
    /// ignored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerEvent::Request { request, .. } => write!(
                f,
                "server: Received : {}\nserver:   read   {}",
                text(request.tcp.payload()),
                request.summary()
            ),
            ServerEvent::Resent { request, reply } => write!(
                f,
                "server: Received again: request {} resent\nserver:   read   {}",
                reply.number,
                request.summary()
            ),
            ServerEvent::Ignored(ignoring) => write!(f, "server: {ignoring}"),
        }
    }
}
// ANCHOR_END: server_event

/// How many requests each side remembers once it is done with them, so that
/// memory stays bounded however long the echo runs.
///
/// The server keeps the replies to the last 1024 requests it answered, to
/// answer a resend of any of them with the same bytes. With the demo's pacing
/// (a request every 100 ms, each given up after 15 s at most) about 150 newer
/// requests come in while one is retried; a resend older than 1024 others is
/// answered as new.
///
/// The client keeps a settled request (answered or lost) while it is among the
/// last 1024 it sent, to tell a second reply (`duplicate`) or one after it gave
/// up (`late`) from an ack it never caused. A reply to an older request, which
/// it has forgotten, is counted as `late` too.
pub const REMEMBERED: usize = 1024;

/// A request the server answered: what it carried, and what the reply said.
/// The reply's bytes are built again from these when the request comes again.
#[derive(Debug, Clone)]
struct Answered {
    seq: SeqNumber,
    payload: Vec<u8>,
    number: u64,
    reply_seq: SeqNumber,
    ack: SeqNumber,
}

// ANCHOR: server
/// The server: answers every data segment from its peer with `Hello client`,
/// and a resent one with the reply it gave the first time.
#[derive(Debug, Clone)]
pub struct Server {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    /// What each reply carries.
    reply: Vec<u8>,
    /// The sequence number of our next reply's first byte.
    next_seq: SeqNumber,
    requests: u64,
    resent: u64,
    /// The last [`REMEMBERED`] requests answered, oldest overwritten first.
    answered: Vec<Answered>,
    /// Where in `answered` each of them is, by sequence number.
    by_seq: HashMap<SeqNumber, usize>,
    /// The reply being written: built here, lent to the loop.
    out: Vec<u8>,
    ignored: IgnoredCounts,
}

impl Server {
    /// A server at `me` that answers `peer` with `Hello client`.
    pub fn new(me: SocketAddrV4, peer: SocketAddrV4) -> Server {
        Server::replying(me, peer, REPLY)
    }

    /// A server that answers with `reply` instead (the bench's longer one).
    pub fn replying(me: SocketAddrV4, peer: SocketAddrV4, reply: &[u8]) -> Server {
        // All the room the remembered requests need, made now: room for one
        // `Hello server` each, and a table with twice the slots it will
        // hold, which the hash map then never has to grow.
        let answered = (0..REMEMBERED)
            .map(|_| Answered {
                seq: SERVER_ISN,
                payload: Vec::with_capacity(REQUEST.len()),
                number: 0,
                reply_seq: SERVER_ISN,
                ack: SERVER_ISN,
            })
            .collect();
        Server {
            me,
            peer,
            reply: reply.to_vec(),
            next_seq: SERVER_ISN,
            requests: 0,
            resent: 0,
            answered,
            by_seq: HashMap::with_capacity(2 * REMEMBERED),
            out: Vec::new(),
            ignored: IgnoredCounts::default(),
        }
    }

    /// Takes the bytes of one read (IPv4 header included). A data segment from
    /// the peer gets a reply that acknowledges its bytes (ack = seq + payload
    /// length) and carries `Hello client`; the same request again gets the
    /// same reply again; anything else is counted by reason.
    pub fn on_packet<'a>(&'a mut self, bytes: &'a [u8]) -> ServerEvent<'a> {
        let request = match from_peer(bytes, self.me, self.peer) {
            Ok(packet) => packet,
            Err((reason, packet)) => return self.ignore(reason, packet),
        };
        let tcp = request.tcp_repr();
        // A resend carries the same bytes at the same sequence number. It gets
        // the same reply: a new one would move our sequence number twice for
        // one request.
        if let Some(&slot) = self.by_seq.get(&tcp.seq) {
            let before = &self.answered[slot];
            if before.payload != tcp.payload {
                return self.ignore(Ignored::ReusedSeq, Some(request));
            }
            let (number, seq, ack) = (before.number, before.reply_seq, before.ack);
            self.resent += 1;
            let reply = self.write(number, seq, ack);
            return ServerEvent::Resent { request, reply };
        }
        let (seq, ack) = (self.next_seq, tcp.seq + tcp.payload.len());
        self.next_seq += self.reply.len();
        self.requests += 1;
        self.remember(tcp.seq, tcp.payload, seq, ack);
        let reply = self.write(self.requests, seq, ack);
        ServerEvent::Request { request, reply }
    }

    /// Keeps what the reply to the request at `seq` said, in the place of
    /// the oldest one once [`REMEMBERED`] are kept.
    fn remember(
        &mut self,
        seq: SeqNumber,
        payload: &[u8],
        reply_seq: SeqNumber,
        ack: SeqNumber,
    ) {
        let slot = (self.requests - 1) as usize % REMEMBERED;
        let oldest = &mut self.answered[slot];
        if self.by_seq.get(&oldest.seq) == Some(&slot) {
            self.by_seq.remove(&oldest.seq);
        }
        oldest.seq = seq;
        oldest.payload.clear();
        oldest.payload.extend_from_slice(payload);
        (oldest.number, oldest.reply_seq, oldest.ack) =
            (self.requests, reply_seq, ack);
        self.by_seq.insert(seq, slot);
    }

    /// Builds reply `number` into the buffer, and lends it out.
    fn write(
        &mut self,
        number: u64,
        seq: SeqNumber,
        ack: SeqNumber,
    ) -> Outgoing<'_> {
        let ends = (self.me, self.peer);
        build(&mut self.out, ends, seq, ack, &self.reply);
        Outgoing {
            number,
            src: self.me,
            dst: self.peer,
            segment: &self.out,
        }
    }
}
// ANCHOR_END: server

impl Server {
    fn ignore<'a>(
        &mut self,
        reason: Ignored,
        packet: Option<Received<'a>>,
    ) -> ServerEvent<'a> {
        self.ignored.add(reason.reason());
        ServerEvent::Ignored(Ignoring { reason, packet })
    }

    /// Our address and port.
    pub fn me(&self) -> SocketAddrV4 {
        self.me
    }

    /// The client's address and port.
    pub fn peer(&self) -> SocketAddrV4 {
        self.peer
    }

    /// Requests answered so far (each got one reply the first time).
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Resent requests answered again with their first reply.
    pub fn resent(&self) -> u64 {
        self.resent
    }

    /// What was ignored, by reason.
    pub fn ignored(&self) -> &IgnoredCounts {
        &self.ignored
    }

    /// `received 5 requests, sent 5 replies`, and how many of those replies
    /// went out again to resent requests, if any did.
    pub fn summary(&self) -> String {
        let replies = self.requests + self.resent;
        let mut line = format!(
            "received {} requests, sent {replies} replies",
            self.requests
        );
        if self.resent > 0 {
            line.push_str(&format!(
                ", {} of them again for resent requests",
                self.resent
            ));
        }
        line
    }
}

/// The most a wait for a reply grows: it doubles with each try, up to this
/// many times the first one (1, 2, 4, 8, 8, ... timeouts).
pub const BACKOFF_CAP: u32 = 8;

// ANCHOR: client_config
/// How the client paces its requests and how long it waits for each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    /// How many requests to send; `None` sends until stopped.
    pub count: Option<u64>,
    /// The time between two requests. Zero: ping-pong, each request as soon as
    /// the one before it is answered (or given up).
    pub interval: Duration,
    /// How long to wait for a reply before sending the request again.
    pub timeout: Duration,
    /// How many times a request is sent in all, the first time included,
    /// before its reply is reported lost. At least 1.
    pub tries: u32,
}

impl ClientConfig {
    /// How long to wait for a reply after try `n` (counting from 1):
    /// `timeout`, then twice that, four times, ... up to [`BACKOFF_CAP`] times.
    pub fn wait_after(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1)).min(BACKOFF_CAP);
        self.timeout * factor
    }

    /// How long after its first try a request with no reply is reported lost:
    /// the sum of the waits after every try. The client never waits longer.
    pub fn give_up_after(&self) -> Duration {
        (1..=self.tries.max(1)).map(|n| self.wait_after(n)).sum()
    }

    /// Ping-pong: no pacing, the next request goes once this one is settled.
    pub fn ping_pong(&self) -> bool {
        self.interval.is_zero()
    }
}
// ANCHOR_END: client_config

impl fmt::Display for ClientConfig {
    /// `5 requests, one every 100ms, each reply awaited 1s, then resent with
    /// the wait doubled, 4 tries in all (lost after 15s)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count {
            Some(n) => write!(f, "{n} requests")?,
            None => f.write_str("requests until Ctrl+C")?,
        }
        if self.ping_pong() {
            f.write_str(", each once the one before is settled")?;
        } else {
            write!(f, ", one every {}", show_duration(self.interval))?;
        }
        write!(f, ", each reply awaited {}", show_duration(self.timeout))?;
        if self.tries > 1 {
            write!(
                f,
                ", then resent with the wait doubled, {} tries in all (lost after {})",
                self.tries,
                show_duration(self.give_up_after())
            )?;
        }
        Ok(())
    }
}

/// What the client made of one read.
#[derive(Debug, Clone, Copy)]
pub enum ClientEvent<'a> {
    /// The reply to request `number`.
    Reply {
        /// Which request it answers.
        number: u64,
        /// The reply, as read.
        reply: Received<'a>,
        /// From the request's first try until its reply was read.
        round_trip: Duration,
    },
    /// Not a reply we were waiting for.
    Ignored(Ignoring<'a>),
}

impl fmt::Display for ClientEvent<'_> {
    /// The demo's lines: `client: Received : Hello client` and the reply's
    /// summary with the request it answers; or why it was ignored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientEvent::Reply { number, reply, .. } => write!(
                f,
                "client: Received : {}\nclient:   read   {}  (answers request {number})",
                text(reply.tcp.payload()),
                reply.summary()
            ),
            ClientEvent::Ignored(ignoring) => write!(f, "client: {ignoring}"),
        }
    }
}

/// A request whose reply did not come in time, and what the client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue<'a> {
    /// Send it again: tries are left.
    Resend(Resend<'a>),
    /// Give up on it: that was its last try.
    Lost(Lost),
}

impl fmt::Display for Overdue<'_> {
    /// The [`Resend`]'s or the [`Lost`]'s line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Overdue::Resend(resend) => resend.fmt(f),
            Overdue::Lost(lost) => lost.fmt(f),
        }
    }
}

/// A request sent again, unchanged: the same bytes, the same sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resend<'a> {
    /// The request, exactly as it was first written.
    pub request: Outgoing<'a>,
    /// Which try this is: 2 for the first resend.
    pub attempt: u32,
    /// How many tries there are in all.
    pub tries: u32,
    /// How long the client waited for a reply to the try before.
    pub waited: Duration,
}

impl fmt::Display for Resend<'_> {
    /// `no reply to request 3 within 50ms: sending it again, try 2 of 8`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no reply to request {} within {}: sending it again, try {} of {}",
            self.request.number,
            show_duration(self.waited),
            self.attempt,
            self.tries
        )
    }
}

/// A request that got no reply to any of its tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The request's number.
    pub number: u64,
    /// Its sequence number.
    pub seq: SeqNumber,
    /// How many times it was sent.
    pub tries: u32,
    /// How long the client waited, from the first try: the sum of its waits.
    pub waited: Duration,
}

impl fmt::Display for Lost {
    /// `no reply to request 3 (seq 25) within 1s`, or with several tries
    /// `no reply to request 3 (seq 25) after 4 tries over 15s`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no reply to request {} (seq {}) ", self.number, self.seq)?;
        let waited = show_duration(self.waited);
        match self.tries {
            1 => write!(f, "within {waited}"),
            n => write!(f, "after {n} tries over {waited}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Answered,
    Lost,
}

/// A request the client sent: what its bytes said, so that they can be built
/// again for a resend, and where it stands.
#[derive(Debug, Clone, Copy)]
struct Request {
    seq: SeqNumber,
    /// The ack it carried: what we had acknowledged when it first went out.
    ack: SeqNumber,
    /// How many times it has been written.
    tries: u32,
    /// When it was first written.
    first_try: Instant,
    /// When it was last written.
    last_try: Instant,
    /// When the wait for a reply to the last try ends: nominally, the time of
    /// the first try plus the waits after every try so far, however late the
    /// program got round to each resend.
    deadline: Instant,
    state: State,
}

/// The client: sends `Hello server` every `interval` (or, with an interval of
/// zero, as soon as the last request is settled), matches each reply to its
/// request by the acknowledgment number, sends a request again when its reply
/// is late, and gives up on it after `tries`.
#[derive(Debug, Clone)]
pub struct Client {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    config: ClientConfig,
    /// What each request carries.
    payload: Vec<u8>,
    /// The sequence number of our next request's first byte.
    next_seq: SeqNumber,
    /// What we acknowledge: the server's next sequence number, as far as we
    /// know. Both sides start at 1, by agreement: there is no handshake.
    ack: SeqNumber,
    /// When the next request is due.
    next_send: Instant,
    /// How many requests were sent, each counted once.
    sent: u64,
    /// Every request still waiting, and the settled ones among the last
    /// [`REMEMBERED`] sent, in order: request `first_kept` first. Older
    /// settled ones are forgotten.
    requests: VecDeque<Request>,
    /// The number of the request at the front of `requests`.
    first_kept: u64,
    /// Every request numbered below this one is answered or lost.
    oldest_waiting: u64,
    answered: u64,
    lost: u64,
    resent: u64,
    /// The request being written: built here, lent to the loop.
    out: Vec<u8>,
    ignored: IgnoredCounts,
}

impl Client {
    /// A client at `me` asking the server at `peer` with `Hello server`; the
    /// first request is due at `start`.
    pub fn new(
        me: SocketAddrV4,
        peer: SocketAddrV4,
        config: ClientConfig,
        start: Instant,
    ) -> Client {
        Client::sending(me, peer, config, REQUEST, start)
    }

    /// A client whose requests carry `payload` instead (the bench's longer
    /// one).
    pub fn sending(
        me: SocketAddrV4,
        peer: SocketAddrV4,
        config: ClientConfig,
        payload: &[u8],
        start: Instant,
    ) -> Client {
        Client {
            me,
            peer,
            config,
            payload: payload.to_vec(),
            next_seq: CLIENT_ISN,
            ack: SERVER_ISN,
            next_send: start,
            sent: 0,
            // Room for the window, and as many waiting: grown only when more
            // than that many are waiting at once.
            requests: VecDeque::with_capacity(2 * REMEMBERED),
            first_kept: 1,
            oldest_waiting: 1,
            answered: 0,
            lost: 0,
            resent: 0,
            out: Vec::new(),
            ignored: IgnoredCounts::default(),
        }
    }

    // ANCHOR: client_send
    /// The next request, if one is due at `now`. Its sequence number advances
    /// ours by the 12 bytes of `Hello server`; its ack is the server's next
    /// sequence number as far as we know. In ping-pong mode a request is due
    /// only once no other is waiting for its reply.
    pub fn poll_send(&mut self, now: Instant) -> Option<Outgoing<'_>> {
        if !self.may_send() || now < self.next_send {
            return None;
        }
        let number = self.sent + 1;
        self.requests.push_back(Request {
            seq: self.next_seq,
            ack: self.ack,
            tries: 1,
            first_try: now,
            last_try: now,
            deadline: now + self.config.wait_after(1),
            state: State::Waiting,
        });
        self.sent = number;
        self.next_seq += self.payload.len();
        self.next_send = now + self.config.interval;
        // One more request sent: the one REMEMBERED before it leaves the window.
        self.forget_old();
        Some(self.write(number))
    }
    // ANCHOR_END: client_send

    /// Builds request `number`'s bytes, the same each time, into the buffer,
    /// and lends them out.
    fn write(&mut self, number: u64) -> Outgoing<'_> {
        let request = self.requests[(number - self.first_kept) as usize];
        let ends = (self.me, self.peer);
        build(&mut self.out, ends, request.seq, request.ack, &self.payload);
        Outgoing {
            number,
            src: self.me,
            dst: self.peer,
            segment: &self.out,
        }
    }

    /// Whether a new request may go out (when its time comes): not all sent
    /// yet, and in ping-pong mode, none still waiting for its reply.
    fn may_send(&self) -> bool {
        let busy = self.config.ping_pong() && self.any_waiting();
        !self.all_sent() && !busy
    }

    // ANCHOR: client_match
    /// Takes the bytes of one read, at `now`. A data segment from the server
    /// whose ack is a waiting request's seq + 12 is that request's reply;
    /// anything else is counted by reason: a second reply as `duplicate` (a
    /// resend can earn two), one after the request was reported lost, or to a
    /// request so old it is forgotten, as `late`, an ack we never caused as
    /// `unknown-ack`.
    pub fn on_packet<'a>(
        &mut self,
        bytes: &'a [u8],
        now: Instant,
    ) -> ClientEvent<'a> {
        let reply = match from_peer(bytes, self.me, self.peer) {
            Ok(packet) => packet,
            Err((reason, packet)) => return self.ignore(reason, packet),
        };
        let tcp = reply.tcp_repr();
        // Without ACK a segment acknowledges nothing, and answers no request.
        let acked = tcp.ack_number.and_then(|ack| self.number_acked_by(ack));
        let Some(number) = acked else {
            return self.ignore(Ignored::UnknownAck, Some(reply));
        };
        let Some(request) = self.kept_mut(number) else {
            // Sent, settled and forgotten since.
            return self.ignore(Ignored::Late, Some(reply));
        };
        match request.state {
            State::Waiting => request.state = State::Answered,
            State::Answered => return self.ignore(Ignored::Duplicate, Some(reply)),
            State::Lost => return self.ignore(Ignored::Late, Some(reply)),
        }
        let round_trip = now.saturating_duration_since(request.first_try);
        self.answered += 1;
        // Acknowledge the server's bytes from now on, never moving backwards:
        // `>` compares sequence numbers across the wrap at 2^32.
        let end = tcp.seq + tcp.payload.len();
        if end > self.ack {
            self.ack = end;
        }
        self.skip_settled();
        self.forget_old();
        ClientEvent::Reply {
            number,
            reply,
            round_trip,
        }
    }
    // ANCHOR_END: client_match

    fn ignore<'a>(
        &mut self,
        reason: Ignored,
        packet: Option<Received<'a>>,
    ) -> ClientEvent<'a> {
        self.ignored.add(reason.reason());
        ClientEvent::Ignored(Ignoring { reason, packet })
    }

    // ANCHOR: client_timeout
    /// The next waiting request whose wait is over at `now`: sent again, the
    /// same bytes, with a wait twice as long (up to [`BACKOFF_CAP`] times the
    /// first), or, after its last try, reported lost, once. Call it until it
    /// returns `None`: each call hands out one, and a request at most once
    /// for the same `now`.
    ///
    /// Each new wait counts from the end of the last one, not from `now`: a
    /// late wake-up delays this resend, not the deadlines after it. So a
    /// request is reported lost [`ClientConfig::give_up_after`] after its first
    /// try, never before, and at most one wake-up's latency after.
    pub fn on_timeout(&mut self, now: Instant) -> Option<Overdue<'_>> {
        let config = self.config;
        // The waits differ from try to try, so the deadlines are in no
        // particular order: look at every request still waiting.
        let from = (self.oldest_waiting - self.first_kept) as usize;
        let (index, request) = self
            .requests
            .iter_mut()
            .enumerate()
            .skip(from)
            .find(|(_, r)| {
                r.state == State::Waiting && r.deadline <= now && r.last_try != now
            })?;
        let number = self.first_kept + index as u64;
        if request.tries < config.tries {
            let waited = config.wait_after(request.tries);
            request.tries += 1;
            request.deadline += config.wait_after(request.tries);
            request.last_try = now;
            let attempt = request.tries;
            self.resent += 1;
            return Some(Overdue::Resend(Resend {
                request: self.write(number),
                attempt,
                tries: config.tries,
                waited,
            }));
        }
        request.state = State::Lost;
        let lost = Lost {
            number,
            seq: request.seq,
            tries: request.tries,
            waited: config.give_up_after(),
        };
        self.lost += 1;
        self.skip_settled();
        self.forget_old();
        Some(Overdue::Lost(lost))
    }

    /// When something is next due: a request to send, or the end of a wait
    /// for a reply. `None` once the client is done.
    pub fn next_deadline(&self) -> Option<Instant> {
        let send = self.may_send().then_some(self.next_send);
        let reply = self.waiting().map(|request| request.deadline).min();
        match (send, reply) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    // ANCHOR_END: client_timeout

    /// Request `number`, if it is still kept.
    fn kept_mut(&mut self, number: u64) -> Option<&mut Request> {
        let index = number.checked_sub(self.first_kept)?;
        self.requests.get_mut(usize::try_from(index).ok()?)
    }

    /// Moves `oldest_waiting` past the requests answered or lost.
    fn skip_settled(&mut self) {
        while self.oldest_waiting <= self.sent {
            let index = (self.oldest_waiting - self.first_kept) as usize;
            if self.requests[index].state == State::Waiting {
                break;
            }
            self.oldest_waiting += 1;
        }
    }

    /// Forgets the oldest requests while they are settled and no longer among
    /// the last [`REMEMBERED`] sent. One still waiting is kept, and so are
    /// those after it, until it is settled too.
    fn forget_old(&mut self) {
        while self.first_kept + REMEMBERED as u64 <= self.sent
            && self.first_kept < self.oldest_waiting
        {
            self.requests.pop_front();
            self.first_kept += 1;
        }
    }

    /// The number of the request, sent at some time, whose reply acknowledges
    /// `ack` (its seq + its length), kept or forgotten; `None` for an ack no
    /// request of ours caused. Counted back from our next sequence number, so
    /// that it holds across the wrap at 2^32.
    fn number_acked_by(&self, ack: SeqNumber) -> Option<u64> {
        let behind = u64::from(self.next_seq.0.wrapping_sub(ack.0));
        let len = self.payload.len() as u64;
        let back = behind / len;
        (behind % len == 0 && back < self.sent).then(|| self.sent - back)
    }

    /// The requests still waiting for their reply.
    fn waiting(&self) -> impl Iterator<Item = &Request> {
        let from = (self.oldest_waiting - self.first_kept) as usize;
        self.requests
            .iter()
            .skip(from)
            .filter(|request| request.state == State::Waiting)
    }

    fn any_waiting(&self) -> bool {
        self.oldest_waiting <= self.sent
    }

    fn all_sent(&self) -> bool {
        self.config.count.is_some_and(|count| self.sent >= count)
    }

    /// Every request sent, and each one answered or lost.
    pub fn is_done(&self) -> bool {
        self.all_sent() && !self.any_waiting()
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

    /// Requests sent so far (each counted once, however often it was resent).
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// Requests reported lost so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Resends so far: every try after a request's first.
    pub fn resent(&self) -> u64 {
        self.resent
    }

    /// What was ignored, by reason.
    pub fn ignored(&self) -> &IgnoredCounts {
        &self.ignored
    }

    /// `sent 5 requests, 5 replies received, 0 lost`, then how many resends
    /// it took, and how many were still waiting if the client was stopped
    /// early, when there are any.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "sent {} requests, {} replies received, {} lost",
            self.sent(),
            self.answered,
            self.lost
        );
        if self.resent > 0 {
            line.push_str(&format!(", resent {}", self.resent));
        }
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
    use step_01_socket::TcpFlags;
    use step_02_bind_connect::{CLIENT, SERVER};

    const MS: Duration = Duration::from_millis(1);

    /// One try per request: each reply is awaited once, for a second.
    fn config(count: u64) -> ClientConfig {
        ClientConfig {
            count: Some(count),
            interval: 100 * MS,
            timeout: 1000 * MS,
            tries: 1,
        }
    }

    /// Requests go out `interval` apart and are sent up to `tries` times,
    /// the first wait 100 ms.
    fn retrying(count: u64, interval: Duration, tries: u32) -> ClientConfig {
        ClientConfig {
            count: Some(count),
            interval,
            timeout: 100 * MS,
            tries,
        }
    }

    /// What `on_timeout` hands out at `now`, kept: a resend's bytes copied.
    #[derive(Debug, Clone, PartialEq)]
    enum Due {
        Resend(Resent),
        Lost(Lost),
    }

    /// A [`Resend`], its bytes and its line copied out of the client.
    #[derive(Debug, Clone, PartialEq)]
    struct Resent {
        number: u64,
        segment: Vec<u8>,
        attempt: u32,
        tries: u32,
        waited: Duration,
        line: String,
    }

    /// Everything overdue at `now`, as the loop takes it: `on_timeout` until
    /// it returns `None`.
    fn due(client: &mut Client, now: Instant) -> Vec<Due> {
        let mut all = Vec::new();
        while let Some(overdue) = client.on_timeout(now) {
            all.push(match overdue {
                Overdue::Lost(lost) => Due::Lost(lost),
                Overdue::Resend(resend) => Due::Resend(Resent {
                    number: resend.request.number,
                    segment: resend.request.segment.to_vec(),
                    attempt: resend.attempt,
                    tries: resend.tries,
                    waited: resend.waited,
                    line: resend.to_string(),
                }),
            });
        }
        all
    }

    /// The lost requests among `due`, or a panic if one was resent.
    fn lost(due: Vec<Due>) -> Vec<Lost> {
        due.into_iter()
            .map(|d| match d {
                Due::Lost(lost) => lost,
                Due::Resend(resend) => panic!("resent: {}", resend.line),
            })
            .collect()
    }

    /// The resent requests among `due`, or a panic if one was lost.
    fn resent(due: Vec<Due>) -> Vec<Resent> {
        due.into_iter()
            .map(|d| match d {
                Due::Resend(resend) => resend,
                Due::Lost(lost) => panic!("lost: {lost}"),
            })
            .collect()
    }

    /// A request's or reply's bytes and line, copied out of the machine.
    fn kept(outgoing: Outgoing<'_>) -> (u64, Vec<u8>, String) {
        (
            outgoing.number,
            outgoing.segment.to_vec(),
            outgoing.to_string(),
        )
    }

    /// A segment from `src` to `dst`, as read from a raw socket.
    use testkit::segment_as_read as read;

    fn psh_ack() -> TcpFlags {
        TcpFlags::PSH | TcpFlags::ACK
    }

    fn reply_to(ack: u32) -> Vec<u8> {
        read(SERVER, CLIENT, 1, ack, psh_ack(), REPLY)
    }

    fn ignored(event: ClientEvent<'_>) -> String {
        match event {
            ClientEvent::Ignored(ignoring) => ignoring.reason.reason().to_string(),
            other => panic!("expected an ignored segment, got {other:?}"),
        }
    }

    #[test]
    fn server_answers_a_request_acknowledging_its_bytes() {
        let mut server = Server::new(SERVER, CLIENT);
        let request = read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST);
        let ServerEvent::Request { request, reply } = server.on_packet(&request)
        else {
            panic!("not answered");
        };
        assert_eq!(
            request.summary(),
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        );
        assert_eq!(request.tcp.payload(), REQUEST);
        assert_eq!(reply.number, 1);
        assert_eq!(
            reply.to_string(),
            "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 1:13 ack 13 win 65535 len 12"
        );
        let view = TcpPacket::new_checked(reply.segment).unwrap();
        assert_eq!(view.payload(), REPLY);
        assert!(view.verify_checksum(*SERVER.ip(), *CLIENT.ip()));
        assert_eq!(server.summary(), "received 1 requests, sent 1 replies");
    }

    #[test]
    fn server_reply_seq_advances_and_ack_follows_the_request() {
        let mut server = Server::new(SERVER, CLIENT);
        server.on_packet(&read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST));
        // Any payload length: ack = seq + len.
        let bytes = read(CLIENT, SERVER, 13, 13, psh_ack(), b"hi");
        let outcome = server.on_packet(&bytes);
        let ServerEvent::Request { reply, .. } = outcome else {
            panic!("not answered");
        };
        let view = TcpPacket::new_checked(reply.segment).unwrap();
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
                ServerEvent::Ignored(ignoring) => {
                    assert_eq!(ignoring.reason.reason().to_string(), reason)
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

    /// The request as `read` builds it, its checksum then broken.
    fn damaged(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes[20 + 16] ^= 0x01; // the TCP checksum's first byte
        bytes
    }

    /// The reply to a new request: its number, bytes and line.
    fn reply_of(event: ServerEvent<'_>) -> (u64, Vec<u8>, String) {
        match event {
            ServerEvent::Request { reply, .. } => kept(reply),
            other => panic!("not a new request: {other:?}"),
        }
    }

    #[test]
    fn server_answers_a_resent_request_with_the_same_bytes() {
        let mut server = Server::new(SERVER, CLIENT);
        let first = read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST);
        let reply = reply_of(server.on_packet(&first));
        // The client heard nothing and sends the very same bytes again.
        let ServerEvent::Resent {
            request,
            reply: again,
        } = server.on_packet(&first)
        else {
            panic!("a resend answered as a new request");
        };
        assert_eq!(
            request.summary(),
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        );
        assert_eq!(kept(again), reply, "same seq, same ack, same bytes");
        // Our sequence number moved once, for one request.
        let second = read(CLIENT, SERVER, 13, 13, psh_ack(), REQUEST);
        let (number, segment, _) = reply_of(server.on_packet(&second));
        let view = TcpPacket::new_checked(&segment[..]).unwrap();
        assert_eq!(view.seq_number(), SeqNumber(13));
        assert_eq!(number, 2);
        assert_eq!((server.requests(), server.resent()), (2, 1));
        assert_eq!(
            server.summary(),
            "received 2 requests, sent 3 replies, 1 of them again for resent requests"
        );
    }

    #[test]
    fn other_bytes_at_an_answered_seq_are_not_a_resend() {
        let mut server = Server::new(SERVER, CLIENT);
        server.on_packet(&read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST));
        let other = read(CLIENT, SERVER, 1, 1, psh_ack(), b"Hello again!");
        match server.on_packet(&other) {
            ServerEvent::Ignored(ignoring) => {
                assert_eq!(ignoring.reason, Ignored::ReusedSeq)
            }
            other => panic!("answered: {other:?}"),
        }
        assert_eq!((server.requests(), server.resent()), (1, 0));
    }

    #[test]
    fn the_server_forgets_the_oldest_answers_first() {
        let mut server = Server::new(SERVER, CLIENT);
        let request =
            |n: u32| read(CLIENT, SERVER, 1 + 12 * n, 1, psh_ack(), REQUEST);
        for n in 0..=REMEMBERED as u32 {
            reply_of(server.on_packet(&request(n)));
        }
        // The newest 1024 are remembered; request 0 was forgotten, so its
        // resend looks like a new request.
        assert!(matches!(
            server.on_packet(&request(1)),
            ServerEvent::Resent { .. }
        ));
        reply_of(server.on_packet(&request(0)));
    }

    #[test]
    fn a_wrong_checksum_is_neither_answered_nor_matched() {
        let mut server = Server::new(SERVER, CLIENT);
        let request = damaged(read(CLIENT, SERVER, 1, 1, psh_ack(), REQUEST));
        match server.on_packet(&request) {
            ServerEvent::Ignored(ignoring) => {
                assert_eq!(ignoring.reason, Ignored::BadChecksum);
                assert!(ignoring.packet.unwrap().summary().contains("seq 1:13"));
            }
            other => panic!("answered: {other:?}"),
        }
        assert_eq!(server.requests(), 0);
        assert_eq!(server.ignored().get("bad-checksum"), 1);

        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        client.poll_send(t0);
        assert_eq!(
            ignored(client.on_packet(&damaged(reply_to(13)), t0)),
            "bad-checksum"
        );
        assert_eq!(client.answered(), 0);
        // The intact copy still counts.
        assert!(matches!(
            client.on_packet(&reply_to(13), t0),
            ClientEvent::Reply { number: 1, .. }
        ));
    }

    #[test]
    fn client_paces_its_requests() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        assert_eq!(client.next_deadline(), Some(t0));
        let first = client.poll_send(t0).expect("due at start");
        assert_eq!(first.number, 1);
        assert_eq!(
            first.to_string(),
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        );
        assert_eq!(client.poll_send(t0 + 99 * MS), None);
        assert_eq!(client.next_deadline(), Some(t0 + 100 * MS));
        let second = client.poll_send(t0 + 100 * MS).expect("due after interval");
        assert_eq!(
            second.to_string(),
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
        let bytes = read(SERVER, CLIENT, 1, 25, psh_ack(), REPLY);
        let event = client.on_packet(&bytes, t0);
        let ClientEvent::Reply { number, reply, .. } = event else {
            panic!("not a reply: {event:?}");
        };
        assert_eq!(number, 2);
        assert_eq!(
            reply.summary(),
            "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 1:13 ack 25 win 65535 len 12"
        );
        assert_eq!(reply.tcp.payload(), REPLY);
        assert!(!client.is_done());
        let bytes = reply_to(13);
        let event = client.on_packet(&bytes, t0);
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
    fn a_reply_without_the_ack_flag_answers_no_request() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(1), t0);
        client.poll_send(t0);
        // The reply to request 1, but PSH alone: its acknowledgment field
        // holds 13, which means nothing without ACK and is not read.
        let mut bytes = reply_to(13);
        let mut tcp = TcpPacket::new_unchecked(&mut bytes[20..]);
        tcp.set_flags(TcpFlags::PSH);
        tcp.fill_checksum(*SERVER.ip(), *CLIENT.ip());
        assert_eq!(ignored(client.on_packet(&bytes, t0)), "unknown-ack");
        assert!(!client.is_done());
        // With ACK, the same bytes are the reply.
        let bytes = reply_to(13);
        let event = client.on_packet(&bytes, t0);
        assert!(matches!(event, ClientEvent::Reply { number: 1, .. }));
    }

    #[test]
    fn client_acknowledges_the_servers_bytes() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, config(2), t0);
        client.poll_send(t0);
        client.on_packet(&reply_to(13), t0);
        let second = client.poll_send(t0 + 100 * MS).unwrap();
        let view = TcpPacket::new_checked(second.segment).unwrap();
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
        assert_eq!(due(&mut client, t0 + 999 * MS), vec![]);
        let gone = lost(due(&mut client, t0 + 1000 * MS));
        assert_eq!(
            gone,
            vec![Lost {
                number: 1,
                seq: SeqNumber(1),
                tries: 1,
                waited: 1000 * MS
            }]
        );
        assert_eq!(
            gone[0].to_string(),
            "no reply to request 1 (seq 1) within 1s"
        );
        assert_eq!(due(&mut client, t0 + 1050 * MS), vec![], "reported once");
        assert_eq!(client.next_deadline(), Some(t0 + 1100 * MS));
        assert_eq!(ignored(client.on_packet(&reply_to(13), t0)), "late");
        let gone = lost(due(&mut client, t0 + 5000 * MS));
        assert_eq!(gone.len(), 1);
        assert_eq!(
            gone[0].to_string(),
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
        assert_eq!(due(&mut client, t0 + 1000 * MS).len(), 1);
        assert!(client.is_done());
        assert_eq!(client.next_deadline(), None);
    }

    #[test]
    fn each_wait_doubles_up_to_the_cap() {
        let config = retrying(1, 100 * MS, 6);
        let waits: Vec<Duration> = (1..=6).map(|n| config.wait_after(n)).collect();
        assert_eq!(
            waits,
            [100 * MS, 200 * MS, 400 * MS, 800 * MS, 800 * MS, 800 * MS]
        );
        assert_eq!(config.give_up_after(), 3100 * MS);
        // One try: one wait, the timeout itself.
        assert_eq!(retrying(1, 100 * MS, 1).give_up_after(), 100 * MS);
    }

    #[test]
    fn an_unanswered_request_is_resent_unchanged_with_backoff() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(1, 100 * MS, 4), t0);
        let (_, first, _) = kept(client.poll_send(t0).unwrap());
        assert_eq!(client.next_deadline(), Some(t0 + 100 * MS));
        assert_eq!(due(&mut client, t0 + 99 * MS), vec![]);
        // Each try's wait is over: the same bytes again, and a wait twice as
        // long as the last.
        let mut at = 0;
        for (attempt, wait) in [(2, 100), (3, 200), (4, 400)] {
            at += wait;
            let again = resent(due(&mut client, t0 + at * MS));
            assert_eq!(again.len(), 1, "try {attempt}");
            assert_eq!(again[0].segment, first, "try {attempt}: other bytes");
            assert_eq!((again[0].attempt, again[0].tries), (attempt, 4));
            assert_eq!(again[0].waited, wait * MS);
            assert_eq!(
                client.next_deadline(),
                Some(t0 + (at + 2 * wait) * MS),
                "try {attempt}"
            );
            // Nothing more before the new deadline.
            assert_eq!(due(&mut client, t0 + (at + 2 * wait - 1) * MS), vec![]);
        }
        assert_eq!(client.resent(), 3);
        assert!(!client.is_done());
        // The fourth try's 800 ms pass too: now, and only now, it is lost.
        let gone = lost(due(&mut client, t0 + 1500 * MS));
        assert_eq!(
            gone[0].to_string(),
            "no reply to request 1 (seq 1) after 4 tries over 1500ms"
        );
        assert_eq!(gone[0].waited, retrying(1, 100 * MS, 4).give_up_after());
        assert!(client.is_done());
        assert_eq!(client.next_deadline(), None);
        assert_eq!(
            client.summary(),
            "sent 1 requests, 0 replies received, 1 lost, resent 3"
        );
    }

    #[test]
    fn the_resend_line_says_which_try() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(1, 100 * MS, 8), t0);
        client.poll_send(t0);
        let again = resent(due(&mut client, t0 + 100 * MS));
        assert_eq!(
            again[0].line,
            "no reply to request 1 within 100ms: sending it again, try 2 of 8"
        );
    }

    #[test]
    fn a_reply_after_a_resend_counts_once_and_a_second_copy_is_a_duplicate() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(1, 100 * MS, 4), t0);
        client.poll_send(t0);
        assert_eq!(resent(due(&mut client, t0 + 100 * MS)).len(), 1);
        // Both the first reply (late, not lost) and the answer to the resend
        // arrive: the first counts, the second is a duplicate.
        assert!(matches!(
            client.on_packet(&reply_to(13), t0 + 150 * MS),
            ClientEvent::Reply { number: 1, .. }
        ));
        assert_eq!(ignored(client.on_packet(&reply_to(13), t0)), "duplicate");
        assert!(client.succeeded());
        assert_eq!(
            (client.answered(), client.lost(), client.resent()),
            (1, 0, 1)
        );
        // Answered: no more resends, and nothing left to wait for.
        assert_eq!(due(&mut client, t0 + 10_000 * MS), vec![]);
        assert_eq!(client.next_deadline(), None);
    }

    #[test]
    fn tries_are_bounded_and_a_reply_after_the_last_is_late() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(1, 100 * MS, 2), t0);
        client.poll_send(t0);
        assert_eq!(resent(due(&mut client, t0 + 100 * MS)).len(), 1);
        assert_eq!(lost(due(&mut client, t0 + 300 * MS)).len(), 1);
        // Never a third try, however long the clock runs.
        assert_eq!(due(&mut client, t0 + 60_000 * MS), vec![]);
        assert_eq!(client.resent(), 1);
        assert_eq!(ignored(client.on_packet(&reply_to(13), t0)), "late");
        assert_eq!(client.answered(), 0);
    }

    #[test]
    fn a_late_wake_up_does_not_push_the_later_deadlines_back() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(1, 100 * MS, 3), t0);
        client.poll_send(t0);
        // The loop wakes 30 ms after the first wait's end: the resend is that
        // late, but the next wait still ends at 100 + 200 ms, not 130 + 200.
        assert_eq!(resent(due(&mut client, t0 + 130 * MS)).len(), 1);
        assert_eq!(client.next_deadline(), Some(t0 + 300 * MS));
        assert_eq!(due(&mut client, t0 + 299 * MS), vec![]);
        assert_eq!(resent(due(&mut client, t0 + 305 * MS)).len(), 1);
        assert_eq!(client.next_deadline(), Some(t0 + 700 * MS));
        // Lost at its nominal time, give_up_after() after the first try.
        assert_eq!(due(&mut client, t0 + 699 * MS), vec![]);
        let gone = lost(due(&mut client, t0 + 700 * MS));
        assert_eq!(gone[0].waited, 700 * MS);
    }

    #[test]
    fn the_client_forgets_settled_requests_beyond_its_window() {
        let t0 = Instant::now();
        let total = REMEMBERED as u32 + 10;
        let ack_of = |n: u32| 1 + 12 * n;
        let mut client = Client::new(CLIENT, SERVER, config(total.into()), t0);
        for n in 1..=total {
            let at = t0 + (n - 1) * 100 * MS;
            client.poll_send(at).expect("due");
            let bytes = reply_to(ack_of(n));
            let event = client.on_packet(&bytes, at);
            assert!(
                matches!(event, ClientEvent::Reply { number, .. } if number == n.into())
            );
        }
        assert!(client.succeeded());
        // Only the last REMEMBERED requests are kept.
        assert_eq!(client.requests.len(), REMEMBERED);
        assert_eq!(client.first_kept, 11);
        // A reply to a forgotten request is late; one to a kept request is a
        // duplicate; an ack no request caused is still unknown.
        assert_eq!(ignored(client.on_packet(&reply_to(ack_of(1)), t0)), "late");
        assert_eq!(ignored(client.on_packet(&reply_to(ack_of(10)), t0)), "late");
        assert_eq!(
            ignored(client.on_packet(&reply_to(ack_of(11)), t0)),
            "duplicate"
        );
        assert_eq!(
            ignored(client.on_packet(&reply_to(ack_of(total + 1)), t0)),
            "unknown-ack"
        );
        assert_eq!(client.answered(), total.into());

        // Requests reported lost are forgotten the same way.
        let mut client = Client::new(CLIENT, SERVER, config(total.into()), t0);
        for n in 0..total {
            let at = t0 + n * 100 * MS;
            due(&mut client, at);
            client.poll_send(at).expect("due");
        }
        assert_eq!(
            lost(due(&mut client, t0 + total * 100 * MS + 1000 * MS)).len(),
            10
        );
        assert_eq!(client.lost(), total.into());
        assert_eq!(client.requests.len(), REMEMBERED);
        assert_eq!(client.first_kept, 11);
        assert_eq!(ignored(client.on_packet(&reply_to(ack_of(1)), t0)), "late");
    }

    #[test]
    fn resends_of_several_requests_keep_their_own_clocks() {
        let t0 = Instant::now();
        let mut client = Client::new(CLIENT, SERVER, retrying(2, 50 * MS, 3), t0);
        client.poll_send(t0);
        client.poll_send(t0 + 50 * MS);
        // Request 1 is resent at 100 ms (next wait 200 ms, until 300 ms),
        // request 2 at 150 ms (until 350 ms).
        let again = resent(due(&mut client, t0 + 100 * MS));
        assert_eq!(again[0].number, 1);
        let again = resent(due(&mut client, t0 + 150 * MS));
        assert_eq!(again[0].number, 2);
        // Request 2's reply comes; request 1 is resent once more on its own.
        let reply = read(SERVER, CLIENT, 1, 25, psh_ack(), REPLY);
        assert!(matches!(
            client.on_packet(&reply, t0),
            ClientEvent::Reply { number: 2, .. }
        ));
        assert_eq!(client.next_deadline(), Some(t0 + 300 * MS));
        let again = resent(due(&mut client, t0 + 300 * MS));
        assert_eq!((again[0].number, again[0].attempt), (1, 3));
        assert_eq!(client.next_deadline(), Some(t0 + 700 * MS));
    }

    #[test]
    fn ping_pong_sends_the_next_request_once_this_one_is_settled() {
        let t0 = Instant::now();
        let mut client =
            Client::new(CLIENT, SERVER, retrying(3, Duration::ZERO, 2), t0);
        assert!(client.config().ping_pong());
        assert!(client.poll_send(t0).is_some());
        // Request 1 waits: nothing else goes out, and the only deadline is
        // its wait's end.
        assert_eq!(client.poll_send(t0), None);
        assert_eq!(client.next_deadline(), Some(t0 + 100 * MS));
        // Answered: the next one is due at once.
        client.on_packet(&reply_to(13), t0 + 1 * MS);
        assert_eq!(client.next_deadline(), Some(t0));
        let second = client.poll_send(t0 + 1 * MS).expect("due");
        assert_eq!(second.number, 2);
        // Given up on after its two tries: the third goes anyway.
        resent(due(&mut client, t0 + 101 * MS));
        assert_eq!(client.poll_send(t0 + 101 * MS), None);
        lost(due(&mut client, t0 + 301 * MS));
        let third = client.poll_send(t0 + 301 * MS).expect("due");
        assert_eq!(third.number, 3);
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
    fn other_payloads_advance_and_match_by_their_length() {
        // The bench's 1400 bytes each way, as any other length: each side's
        // sequence number moves by what it sent, the ack by what it read.
        let long = [b'x'; 1400];
        let t0 = Instant::now();
        let ping_pong = retrying(2, Duration::ZERO, 1);
        let mut client = Client::sending(CLIENT, SERVER, ping_pong, &long, t0);
        let mut server = Server::replying(SERVER, CLIENT, &long);
        for n in 1..=2u32 {
            let request = client.poll_send(t0).expect("due").segment.to_vec();
            let bytes =
                testkit::with_ipv4_header(*CLIENT.ip(), *SERVER.ip(), 1, &request);
            let ServerEvent::Request { reply, .. } = server.on_packet(&bytes) else {
                panic!("request {n} not answered");
            };
            let view = TcpPacket::new_checked(reply.segment).unwrap();
            assert_eq!(view.seq_number(), SeqNumber(1 + 1400 * (n - 1)));
            assert_eq!(view.ack_number(), SeqNumber(1 + 1400 * n));
            assert_eq!(view.payload(), long);
            let bytes = testkit::with_ipv4_header(
                *SERVER.ip(),
                *CLIENT.ip(),
                1,
                reply.segment,
            );
            let event = client.on_packet(&bytes, t0);
            assert!(
                matches!(event, ClientEvent::Reply { number, .. } if number == n.into())
            );
        }
        assert!(client.succeeded());
    }

    #[test]
    fn text_shows_printable_ascii_only() {
        assert_eq!(text(b"Hello\r\n\x00\xff~"), "Hello....~");
    }
}
