//! One TCP connection as a plain state machine, free of I/O: RFC 9293's
//! transmission control block (TCB) and its "event processing" (section
//! 3.10), for both ends of a connection.
//!
//! Bytes read from a raw socket go in with the time ([`Tcb::on_packet`]), and
//! so does the clock ([`Tcb::on_timeout`]); the application's calls go in as
//! [`Tcb::connect`], [`Tcb::listen`], [`Tcb::send`], [`Tcb::close`] and
//! [`Tcb::abort`]. Out come [`Event`]s (what happened, typed; their `Display`
//! gives the words) and the segments to write ([`Tcb::poll_transmit`]). Nothing
//! here opens a socket or reads a clock, so every rule can be tested with
//! segments made up in the test, at made-up times.
//!
//! The states, with the ones a connection of this workbook goes through:
//!
//! ```text
//!  active open (client)                     passive open (server)
//!  CLOSED --connect: SYN--> SYN-SENT        CLOSED --listen--> LISTEN
//!  SYN-SENT --SYN-ACK: ACK--> ESTABLISHED   LISTEN --SYN: SYN-ACK--> SYN-RECEIVED
//!                                           SYN-RECEIVED --ACK--> ESTABLISHED
//!  the side that closes first               the side that closes second
//!  ESTABLISHED --close: FIN--> FIN-WAIT-1   ESTABLISHED --FIN: ACK--> CLOSE-WAIT
//!  FIN-WAIT-1 --ACK of FIN--> FIN-WAIT-2    CLOSE-WAIT --close: FIN--> LAST-ACK
//!  FIN-WAIT-2 --FIN: ACK--> TIME-WAIT       LAST-ACK --ACK of FIN--> CLOSED
//!  TIME-WAIT --timeout--> CLOSED
//! ```
//!
//! What this TCP leaves out, on purpose: no RTT measurement (a fixed first
//! retransmission timeout that doubles), no congestion control (the peer's
//! window is the only limit, fine on `lo`), no delayed ACKs, no window scaling,
//! SACK or timestamps (we never offer them, so the peer uses none), no urgent
//! data, no data in a SYN.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use step_01_socket::{
    ChecksumStatus, ParseError, SeqNumber, TcpFlags, parse_received,
};

use crate::options::{OptionError, TcpOption};
use crate::segment::Segment;
use crate::seq::seq_distance;

// ANCHOR: state
/// RFC 9293's connection states (section 3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN from any peer (a server).
    Listen,
    /// Our SYN is out; waiting for the peer's SYN-ACK (a client).
    SynSent,
    /// The peer's SYN is in and our SYN-ACK out; waiting for its ACK.
    SynReceived,
    /// Both SYNs acknowledged: data flows both ways.
    Established,
    /// We closed first: our FIN is out, not yet acknowledged.
    FinWait1,
    /// Our FIN is acknowledged; the peer may still send.
    FinWait2,
    /// The peer closed first: its FIN is in; we may still send.
    CloseWait,
    /// Both sent FIN before either's was acknowledged.
    Closing,
    /// The peer closed first, then we did: waiting for the ACK of our FIN.
    LastAck,
    /// Both FINs acknowledged, we closed first: waiting, to answer a FIN the
    /// peer sends again because our last ACK was lost.
    TimeWait,
}
// ANCHOR_END: state

impl State {
    /// SYN-SENT and later: the states in which sequence numbers are known on
    /// both sides, except SYN-SENT itself (RFC 9293's "synchronized" states
    /// are SYN-RECEIVED onwards).
    fn synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }
}

impl fmt::Display for State {
    /// The RFC's names: `SYN-SENT`, `FIN-WAIT-1`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        })
    }
}

// ANCHOR: config
/// The numbers a connection runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The largest segment we accept, announced in the MSS option of our SYN
    /// or SYN-ACK. We also send no larger segment than this.
    pub mss: u16,
    /// The receive window we announce: how many bytes past the last one
    /// acknowledged the peer may send.
    pub window: u16,
    /// How long the first try of a SYN, data or FIN waits for its ACK before
    /// it is sent again. Each further wait is twice as long, up to
    /// [`BACKOFF_CAP`] times this.
    pub rto: Duration,
    /// How many times a segment is sent in all, the first time included,
    /// before the connection is given up. At least 1.
    pub tries: u32,
    /// How long TIME-WAIT lasts (RFC 9293: twice the maximum segment
    /// lifetime, 2 x 2 minutes; Linux waits 60 s).
    pub time_wait: Duration,
    /// The most out-of-order segments held until the gap before them is
    /// filled; a further one is dropped (the peer sends it again).
    pub max_held: usize,
    /// The most bytes [`Tcb::send`] keeps that are not yet acknowledged.
    pub send_buffer: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mss: 1460,
            window: 65535,
            rto: Duration::from_secs(1),
            tries: 6,
            time_wait: Duration::from_millis(500),
            max_held: 64,
            send_buffer: 1 << 20,
        }
    }
}
// ANCHOR_END: config

/// The most a retransmission wait grows: it doubles with each try, up to this
/// many times [`Config::rto`].
pub const BACKOFF_CAP: u32 = 64;

/// The MSS assumed when the peer's SYN carries none (RFC 9293, 3.7.1).
pub const DEFAULT_MSS: u16 = 536;

impl Config {
    /// How long try `n` (counting from 1) waits for its ACK.
    pub fn wait_after(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1)).min(BACKOFF_CAP);
        self.rto * factor
    }

    /// How long after its first try a segment that is never acknowledged
    /// makes the connection give up: the sum of every try's wait.
    pub fn give_up_after(&self) -> Duration {
        (1..=self.tries.max(1)).map(|n| self.wait_after(n)).sum()
    }
}

/// A segment and the numbers its line counts from (see [`Segment::line`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The segment.
    pub segment: Segment,
    seq_base: Option<SeqNumber>,
    ack_base: Option<SeqNumber>,
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.segment.line(self.seq_base, self.ack_base).fmt(f)
    }
}

/// A segment to write: its bytes (TCP header and payload; the kernel adds the
/// IPv4 header) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The bytes for `write()`.
    pub bytes: Vec<u8>,
    /// The segment, for its line.
    pub seen: Seen,
}

/// Why the state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// `connect`: our SYN goes out.
    ActiveOpen,
    /// `listen`: waiting for a SYN.
    PassiveOpen,
    /// The peer's SYN came in; our SYN-ACK goes out.
    PeerSyn,
    /// The peer's SYN-ACK: our SYN acknowledged, the peer's SYN taken.
    SynAck,
    /// The peer's SYN without an ACK while ours was out: both opened at once.
    SimultaneousOpen,
    /// The peer's ACK of our SYN-ACK.
    HandshakeAck,
    /// `close`: our FIN follows the data.
    Close,
    /// `close` before the connection was established: nothing to send.
    CloseUnconnected,
    /// The ACK of our FIN.
    FinAcked,
    /// The peer's FIN: it sends nothing more.
    PeerFin,
    /// The peer's FIN, which also acknowledged ours.
    PeerFinAndAck,
    /// TIME-WAIT lasted its time.
    TimeWaitOver,
    /// The peer's RST.
    PeerReset,
    /// The peer's RST in answer to our SYN: nothing listens on its port.
    Refused,
    /// A segment went unacknowledged after every try.
    GaveUp(GaveUp),
    /// `abort`: we reset the connection.
    Abort,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::ActiveOpen => f.write_str("connect(): our SYN goes out"),
            Cause::PassiveOpen => f.write_str("listen(): waiting for a SYN"),
            Cause::PeerSyn => f.write_str("the peer's SYN; our SYN-ACK goes out"),
            Cause::SynAck => f.write_str(
                "the peer's SYN-ACK acknowledges our SYN; our ACK goes out",
            ),
            Cause::SimultaneousOpen => {
                f.write_str("the peer's SYN without ACK: both ends opened at once")
            }
            Cause::HandshakeAck => f.write_str("the peer's ACK of our SYN-ACK"),
            Cause::Close => f.write_str("close(): our FIN follows the data"),
            Cause::CloseUnconnected => f.write_str("close() before any connection"),
            Cause::FinAcked => f.write_str("the peer acknowledged our FIN"),
            Cause::PeerFin => f.write_str("the peer's FIN: it sends nothing more"),
            Cause::PeerFinAndAck => {
                f.write_str("the peer's FIN, which also acknowledged ours")
            }
            Cause::TimeWaitOver => f.write_str("TIME-WAIT is over"),
            Cause::PeerReset => {
                f.write_str("the peer's RST: the connection is reset")
            }
            Cause::Refused => f.write_str(
                "the peer's RST acknowledges our SYN: connection refused",
            ),
            Cause::GaveUp(gave_up) => gave_up.fmt(f),
            Cause::Abort => f.write_str("abort(): our RST goes out"),
        }
    }
}

/// What is waiting for an acknowledgment, named for the lines about resends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unacked {
    /// Our SYN.
    Syn,
    /// Our SYN-ACK.
    SynAck,
    /// Data, from this byte to the one before that (relative numbers).
    Data(u32, u32),
    /// Our FIN.
    Fin,
    /// A one-byte probe of the peer's zero window.
    WindowProbe,
}

impl fmt::Display for Unacked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unacked::Syn => f.write_str("our SYN"),
            Unacked::SynAck => f.write_str("our SYN-ACK"),
            Unacked::Data(from, to) => write!(f, "data seq {from}:{to}"),
            Unacked::Fin => f.write_str("our FIN"),
            Unacked::WindowProbe => f.write_str("a probe of the peer's zero window"),
        }
    }
}

/// A segment sent again because its ACK did not come in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resend {
    /// What.
    pub what: Unacked,
    /// This try's number, counting from 1 (so at least 2 here).
    pub attempt: u32,
    /// The tries allowed in all.
    pub tries: u32,
    /// How long the last try waited.
    pub waited: Duration,
}

impl fmt::Display for Resend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no ACK for {} within {:?}: sending it again, try {} of {}",
            self.what, self.waited, self.attempt, self.tries
        )
    }
}

/// The connection given up: a segment went unacknowledged after every try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp {
    /// What.
    pub what: Unacked,
    /// How many times it was sent.
    pub tries: u32,
    /// From the first try to giving up.
    pub waited: Duration,
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no ACK for {} after {} tries over {:?}: giving up",
            self.what, self.tries, self.waited
        )
    }
}

// ANCHOR: ignored
/// Why a segment read was not acted on (or only answered), by RFC 9293's
/// rules for an arriving segment (section 3.10.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not a well-formed IPv4 + TCP packet.
    Malformed(ParseError),
    /// Not between our address and port and the peer's.
    Foreign,
    /// Our own segment, read back on `lo`.
    OwnCopy,
    /// To our port, from another peer than the one we are connected to.
    OtherPeer,
    /// The TCP checksum is wrong (the kernel's partial sums on `lo` are fine).
    BadChecksum,
    /// The connection is closed; anything but a RST is answered with a RST.
    Closed,
    /// A RST while listening: there is nothing to reset.
    RstInListen,
    /// An ACK while listening: it acknowledges nothing we sent; a RST goes
    /// back.
    AckInListen,
    /// LISTEN or SYN-SENT: neither SYN nor RST, so nothing to act on.
    NotSyn,
    /// An ACK of something we never sent, while our SYN or SYN-ACK is out; a
    /// RST goes back (unless it was one).
    UnacceptableAck,
    /// A RST in SYN-SENT without an ACK of our SYN: it may belong to an older
    /// connection.
    RstWithoutAck,
    /// Outside the receive window (an old duplicate, or far ahead); an ACK
    /// goes back saying what we expect.
    OutOfWindow,
    /// In SYN-RECEIVED, the peer's SYN again: our SYN-ACK was lost, and goes
    /// out again.
    SynAgain,
    /// A RST inside the window but not at exactly the next expected sequence
    /// number: answered with a challenge ACK (RFC 5961), not obeyed.
    RstNotExact,
    /// A SYN on an established connection: answered with a challenge ACK.
    SynOnConnection,
    /// No ACK flag, in a state where every segment carries one.
    NoAck,
    /// An ACK of data we have not sent yet; an ACK goes back.
    AckOfUnsent,
    /// Data after the peer's FIN.
    DataAfterFin,
}
// ANCHOR_END: ignored

impl Ignored {
    /// A short, stable name for counting: `out-of-window`, ...
    pub fn reason(&self) -> String {
        let name = match self {
            Ignored::Malformed(error) => {
                return format!("malformed:{}", error.reason());
            }
            Ignored::Foreign => "foreign",
            Ignored::OwnCopy => "own-copy",
            Ignored::OtherPeer => "other-peer",
            Ignored::BadChecksum => "bad-checksum",
            Ignored::Closed => "closed",
            Ignored::RstInListen => "rst-in-listen",
            Ignored::AckInListen => "ack-in-listen",
            Ignored::NotSyn => "not-syn",
            Ignored::UnacceptableAck => "unacceptable-ack",
            Ignored::RstWithoutAck => "rst-without-ack",
            Ignored::OutOfWindow => "out-of-window",
            Ignored::SynAgain => "syn-again",
            Ignored::RstNotExact => "rst-not-exact",
            Ignored::SynOnConnection => "syn-on-connection",
            Ignored::NoAck => "no-ack",
            Ignored::AckOfUnsent => "ack-of-unsent",
            Ignored::DataAfterFin => "data-after-fin",
        };
        name.to_owned()
    }

    /// What we send back, if anything.
    fn answer(&self) -> Option<&'static str> {
        match self {
            Ignored::Closed | Ignored::AckInListen | Ignored::UnacceptableAck => {
                Some("a RST goes back")
            }
            Ignored::OutOfWindow | Ignored::AckOfUnsent => Some("an ACK goes back"),
            Ignored::RstNotExact | Ignored::SynOnConnection => {
                Some("a challenge ACK goes back")
            }
            Ignored::SynAgain => Some("our SYN-ACK goes out again"),
            _ => None,
        }
    }
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::Malformed(error) => write!(f, "{}: {error}", self.reason())?,
            _ => f.write_str(&self.reason())?,
        }
        if let Some(answer) = self.answer() {
            write!(f, " ({answer})")?;
        }
        Ok(())
    }
}

// ANCHOR: event
/// What happened, for the program to print and act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The state changed.
    State {
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Why.
        cause: Cause,
    },
    /// A segment of this connection was read (what it did follows).
    Read(Seen),
    /// Bytes from the peer, in order, for the application.
    Data(Vec<u8>),
    /// Data beyond a gap, held until the gap is filled.
    Held {
        /// The first byte's relative sequence number.
        seq: u32,
        /// How many bytes.
        len: usize,
    },
    /// Data beyond a gap, dropped: [`Config::max_held`] segments are held
    /// already.
    Dropped {
        /// The first byte's relative sequence number.
        seq: u32,
        /// How many bytes.
        len: usize,
    },
    /// Some of the segment's options could not be read; it was taken
    /// without them.
    BadOption(OptionError),
    /// A segment read was not acted on, and why.
    Ignored {
        /// Why.
        reason: Ignored,
        /// The segment, when it parsed.
        seen: Option<Seen>,
    },
    /// A segment goes out again.
    Resend(Resend),
}
// ANCHOR_END: event

impl fmt::Display for Event {
    /// One line per event; the program puts its role in front.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::State { from, to, cause } => write!(f, "{from} -> {to}: {cause}"),
            Event::Read(seen) => write!(f, "  read  {seen}"),
            Event::Data(bytes) => write!(
                f,
                "received {} bytes: {:?}",
                bytes.len(),
                step_01_socket::dump::printable(bytes)
            ),
            Event::Held { seq, len } => write!(
                f,
                "held {len} bytes at seq {seq}, beyond a gap; a duplicate ACK asks for the gap"
            ),
            Event::Dropped { seq, len } => write!(
                f,
                "dropped {len} bytes at seq {seq}, beyond a gap: too many held already"
            ),
            Event::BadOption(error) => {
                write!(f, "malformed option, taken without it: {error}")
            }
            Event::Ignored { reason, seen } => match seen {
                Some(seen) => write!(f, "ignored {reason}  {seen}"),
                None => write!(f, "ignored {reason}"),
            },
            Event::Resend(resend) => resend.fmt(f),
        }
    }
}

/// How many segments were counted under each name, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<String, u64>);

impl Counts {
    /// One more under `name`.
    pub fn add(&mut self, name: &str) {
        *self.0.entry(name.to_owned()).or_insert(0) += 1;
    }

    /// How many under `name`.
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// How many in all.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

impl fmt::Display for Counts {
    /// `out-of-window 1, own-copy 2`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> =
            self.0.iter().map(|(k, v)| format!("{k} {v}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// What a connection did, in numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments of this connection read.
    pub segments_read: u64,
    /// Segments written (resends included).
    pub segments_written: u64,
    /// Of those, how many went out again.
    pub resent: u64,
    /// Payload bytes handed to the application, in order.
    pub bytes_received: u64,
    /// Payload bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Segments read and not acted on, by reason.
    pub ignored: Counts,
}

/// The retransmission timer: what is out, since when, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Retry {
    /// When the first try went out.
    first: Instant,
    /// When the current try's wait ends.
    deadline: Instant,
    /// How many tries went out.
    attempt: u32,
}

/// A segment beyond a gap, held.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    seq: SeqNumber,
    payload: Vec<u8>,
    fin: bool,
}

// ANCHOR: tcb
/// One connection's transmission control block: RFC 9293's variables (section
/// 3.3.1) and what this implementation needs besides.
#[derive(Debug, Clone)]
pub struct Tcb {
    config: Config,
    local: SocketAddrV4,
    /// The peer; `None` while listening.
    remote: Option<SocketAddrV4>,
    state: State,
    /// Whether the connection came from LISTEN: a RST in SYN-RECEIVED then
    /// returns there.
    passive: bool,

    // The send sequence space.
    /// ISS: our initial sequence number.
    iss: SeqNumber,
    /// SND.UNA: the oldest sequence number not yet acknowledged.
    snd_una: SeqNumber,
    /// SND.NXT: the next sequence number to send.
    snd_nxt: SeqNumber,
    /// SND.WND: the peer's window, from the segment that last updated it.
    snd_wnd: u32,
    /// SND.WL1 and SND.WL2: the seq and ack of that segment.
    snd_wl1: SeqNumber,
    snd_wl2: SeqNumber,
    /// The peer's MSS (its SYN's option, or 536).
    peer_mss: u16,

    // The receive sequence space.
    /// IRS: the peer's initial sequence number, once its SYN is in.
    irs: Option<SeqNumber>,
    /// RCV.NXT: the next sequence number expected from the peer.
    rcv_nxt: SeqNumber,

    /// Bytes the application gave, from SND.UNA on (sent or not).
    send_buffer: std::collections::VecDeque<u8>,
    /// The application closed: a FIN follows the data.
    fin_queued: bool,
    /// Our FIN's sequence number, once it is placed.
    fin_seq: Option<SeqNumber>,
    /// Our FIN is acknowledged.
    fin_acked: bool,
    /// An ACK must go out (in a segment of its own if no data carries it).
    ack_due: bool,
    /// The handshake's last ACK goes out on its own, before any data.
    handshake_ack_due: bool,
    /// One byte may go past a zero window (a window probe).
    probe: bool,
    /// Segments beyond a gap.
    held: Vec<Held>,
    /// One-off segments (RSTs) to write before anything else.
    control: std::collections::VecDeque<Segment>,
    retry: Option<Retry>,
    time_wait_until: Option<Instant>,
    stats: Stats,
}
// ANCHOR_END: tcb

impl Tcb {
    /// A closed connection at `local` that will number its bytes from `iss`.
    /// Real TCPs pick the ISS at random (RFC 6528); tests give a fixed one, so
    /// that every segment is the same bytes on every run.
    pub fn new(config: Config, local: SocketAddrV4, iss: SeqNumber) -> Tcb {
        Tcb {
            config,
            local,
            remote: None,
            state: State::Closed,
            passive: false,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: SeqNumber(0),
            peer_mss: DEFAULT_MSS,
            irs: None,
            rcv_nxt: SeqNumber(0),
            send_buffer: Default::default(),
            fin_queued: false,
            fin_seq: None,
            fin_acked: false,
            ack_due: false,
            handshake_ack_due: false,
            probe: false,
            held: Vec::new(),
            control: Default::default(),
            retry: None,
            time_wait_until: None,
            stats: Stats::default(),
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Our address and port.
    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// The peer's, once known.
    pub fn remote(&self) -> Option<SocketAddrV4> {
        self.remote
    }

    /// The numbers.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What the connection did.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Our initial sequence number.
    pub fn iss(&self) -> SeqNumber {
        self.iss
    }

    /// The peer's, once its SYN is in.
    pub fn irs(&self) -> Option<SeqNumber> {
        self.irs
    }

    /// SND.UNA, SND.NXT and RCV.NXT: where each direction stands.
    pub fn sequence(&self) -> (SeqNumber, SeqNumber, SeqNumber) {
        (self.snd_una, self.snd_nxt, self.rcv_nxt)
    }

    /// The peer's window, as its last segment announced it.
    pub fn peer_window(&self) -> u32 {
        self.snd_wnd
    }

    /// The peer's MSS.
    pub fn peer_mss(&self) -> u16 {
        self.peer_mss
    }

    /// Bytes given to [`Tcb::send`] that are not acknowledged yet.
    pub fn unacknowledged(&self) -> usize {
        self.send_buffer.len()
    }

    fn change(&mut self, to: State, cause: Cause, events: &mut Vec<Event>) {
        let from = self.state;
        self.state = to;
        if to == State::Closed {
            self.retry = None;
            self.time_wait_until = None;
            self.send_buffer.clear();
            self.held.clear();
            self.ack_due = false;
            self.handshake_ack_due = false;
        }
        events.push(Event::State { from, to, cause });
    }

    // ANCHOR: open
    /// The active open (a client's `connect()`): CLOSED -> SYN-SENT; the SYN
    /// goes out with the next [`Tcb::poll_transmit`].
    pub fn connect(&mut self, remote: SocketAddrV4) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state == State::Closed {
            self.remote = Some(remote);
            self.passive = false;
            self.change(State::SynSent, Cause::ActiveOpen, &mut events);
        }
        events
    }

    /// The passive open (a server's `listen()`): CLOSED -> LISTEN.
    pub fn listen(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state == State::Closed {
            self.remote = None;
            self.passive = true;
            self.change(State::Listen, Cause::PassiveOpen, &mut events);
        }
        events
    }
    // ANCHOR_END: open

    /// Queues `data` to send; returns how much was taken (the send buffer is
    /// bounded, and nothing is taken once the connection is closing).
    pub fn send(&mut self, data: &[u8]) -> usize {
        let open = matches!(
            self.state,
            State::SynSent
                | State::SynReceived
                | State::Established
                | State::CloseWait
        );
        if !open || self.fin_queued {
            return 0;
        }
        let room = self
            .config
            .send_buffer
            .saturating_sub(self.send_buffer.len());
        let taken = data.len().min(room);
        self.send_buffer.extend(&data[..taken]);
        taken
    }

    // ANCHOR: close
    /// The application's `close()`: no more data from us. A FIN follows what
    /// is queued (ESTABLISHED -> FIN-WAIT-1, CLOSE-WAIT -> LAST-ACK); before
    /// the connection exists there is nothing to send.
    pub fn close(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        match self.state {
            State::Listen | State::SynSent => {
                self.change(State::Closed, Cause::CloseUnconnected, &mut events);
            }
            // The FIN goes once the handshake is done.
            State::SynReceived => self.fin_queued = true,
            State::Established => {
                self.fin_queued = true;
                self.change(State::FinWait1, Cause::Close, &mut events);
            }
            State::CloseWait => {
                self.fin_queued = true;
                self.change(State::LastAck, Cause::Close, &mut events);
            }
            _ => {}
        }
        events
    }
    // ANCHOR_END: close

    /// Resets the connection: a RST to the peer (once it knows us), then
    /// CLOSED.
    pub fn abort(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state == State::Closed {
            return events;
        }
        if self.state.synchronized()
            && let Some(remote) = self.remote
        {
            let rst = Segment::new(
                self.local,
                remote,
                self.snd_nxt,
                None,
                TcpFlags::RST,
                0,
            );
            self.control.push_back(rst);
        }
        self.change(State::Closed, Cause::Abort, &mut events);
        events
    }

    /// When [`Tcb::on_timeout`] next has work: a retransmission or the end of
    /// TIME-WAIT.
    pub fn next_deadline(&self) -> Option<Instant> {
        let retry = self.retry.map(|retry| retry.deadline);
        match (retry, self.time_wait_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The relative number of `seq` in our sequence space.
    fn ours(&self, seq: SeqNumber) -> u32 {
        (seq - self.iss) as u32
    }

    /// The relative number of `seq` in the peer's sequence space.
    fn theirs(&self, seq: SeqNumber) -> u32 {
        match self.irs {
            Some(irs) => (seq - irs) as u32,
            None => seq.0,
        }
    }

    fn seen_in(&self, segment: &Segment) -> Seen {
        let seq_base = match self.irs {
            Some(irs) => Some(irs),
            // A SYN is its sender's sequence number 0.
            None if segment.has(TcpFlags::SYN) => Some(segment.seq),
            None => None,
        };
        Seen {
            segment: segment.clone(),
            seq_base,
            ack_base: Some(self.iss),
        }
    }

    fn seen_out(&self, segment: &Segment) -> Seen {
        Seen {
            segment: segment.clone(),
            seq_base: Some(self.iss),
            ack_base: self.irs,
        }
    }

    fn ignore(
        &mut self,
        reason: Ignored,
        seen: Option<Seen>,
        events: &mut Vec<Event>,
    ) {
        self.stats.ignored.add(&reason.reason());
        events.push(Event::Ignored { reason, seen });
    }

    /// The RST that answers `segment` where no connection takes it (RFC
    /// 9293, 3.10.7.1): `<SEQ=SEG.ACK><CTL=RST>` if it had an ACK,
    /// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>` otherwise.
    fn reset_for(&mut self, segment: &Segment) {
        let rst = match segment.ack {
            Some(ack) => {
                Segment::new(segment.dst, segment.src, ack, None, TcpFlags::RST, 0)
            }
            None => Segment::new(
                segment.dst,
                segment.src,
                SeqNumber(0),
                Some(segment.seq + segment.seq_len()),
                TcpFlags::RST,
                0,
            ),
        };
        self.control.push_back(rst);
    }

    // ANCHOR: on_packet
    /// Takes the bytes of one read from a raw socket (IPv4 header included)
    /// at `now`, and says what they did.
    pub fn on_packet(&mut self, bytes: &[u8], now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let packet = match parse_received(bytes) {
            Ok(packet) => packet,
            Err(error) => {
                self.ignore(Ignored::Malformed(error), None, &mut events);
                return events;
            }
        };
        let (segment, option_errors) = Segment::from_received(&packet);
        // Ports as well as addresses: the kernel's filter looks at neither.
        if let Some(reason) = self.not_for_us(&segment) {
            let seen = Seen {
                segment,
                seq_base: None,
                ack_base: None,
            };
            self.ignore(reason, Some(seen), &mut events);
            return events;
        }
        // The kernel's own segments on lo carry only a partial checksum.
        if let ChecksumStatus::Wrong { .. } = packet.checksum_status() {
            let seen = self.seen_in(&segment);
            self.ignore(Ignored::BadChecksum, Some(seen), &mut events);
            return events;
        }
        self.stats.segments_read += 1;
        events.push(Event::Read(self.seen_in(&segment)));
        for error in option_errors {
            self.stats.ignored.add(error.reason());
            events.push(Event::BadOption(error));
        }
        match self.state {
            State::Closed => self.in_closed(segment, &mut events),
            State::Listen => self.in_listen(segment, &mut events),
            State::SynSent => self.in_syn_sent(segment, &mut events),
            _ => self.in_synchronized(segment, now, &mut events),
        }
        events
    }
    // ANCHOR_END: on_packet

    /// Why a segment is none of this connection's business, if it is not.
    fn not_for_us(&self, segment: &Segment) -> Option<Ignored> {
        let (src, dst) = (segment.src, segment.dst);
        match self.remote {
            Some(remote) if src == remote && dst == self.local => None,
            Some(remote) if src == self.local && dst == remote => {
                Some(Ignored::OwnCopy)
            }
            // Listening: any peer may knock.
            None if dst == self.local && src != self.local => None,
            _ if src == self.local => Some(Ignored::OwnCopy),
            Some(_) if dst == self.local => Some(Ignored::OtherPeer),
            _ => Some(Ignored::Foreign),
        }
    }

    fn in_closed(&mut self, segment: Segment, events: &mut Vec<Event>) {
        if !segment.has(TcpFlags::RST) {
            self.reset_for(&segment);
        }
        self.ignore(Ignored::Closed, None, events);
    }

    // ANCHOR: in_listen
    /// LISTEN (RFC 9293, 3.10.7.2): only a SYN opens a connection.
    fn in_listen(&mut self, segment: Segment, events: &mut Vec<Event>) {
        if segment.has(TcpFlags::RST) {
            return self.ignore(Ignored::RstInListen, None, events);
        }
        if segment.has(TcpFlags::ACK) {
            self.reset_for(&segment);
            return self.ignore(Ignored::AckInListen, None, events);
        }
        if !segment.has(TcpFlags::SYN) {
            return self.ignore(Ignored::NotSyn, None, events);
        }
        self.remote = Some(segment.src);
        self.take_syn(&segment);
        // Our SYN-ACK is sent by poll_transmit: SND.NXT is still ISS.
        self.snd_una = self.iss;
        self.snd_nxt = self.iss;
        self.change(State::SynReceived, Cause::PeerSyn, events);
    }
    // ANCHOR_END: in_listen

    /// What every SYN tells: the peer's ISN, its MSS, its window.
    fn take_syn(&mut self, segment: &Segment) {
        self.irs = Some(segment.seq);
        self.rcv_nxt = segment.seq + 1;
        self.peer_mss = segment.mss().unwrap_or(DEFAULT_MSS).max(1);
        self.snd_wnd = u32::from(segment.window);
        self.snd_wl1 = segment.seq;
    }

    // ANCHOR: in_syn_sent
    /// SYN-SENT (RFC 9293, 3.10.7.3): only a SYN-ACK of our SYN (or a SYN)
    /// goes on; a RST counts only if it acknowledges our SYN.
    fn in_syn_sent(&mut self, segment: Segment, events: &mut Vec<Event>) {
        let rst = segment.has(TcpFlags::RST);
        // First the ACK: it must acknowledge our SYN, and nothing more.
        let acked = match segment.ack {
            Some(ack) if ack <= self.iss || ack > self.snd_nxt => {
                if !rst {
                    self.reset_for(&segment);
                }
                return self.ignore(Ignored::UnacceptableAck, None, events);
            }
            Some(ack) => Some(ack),
            None => None,
        };
        if rst {
            if acked.is_none() {
                return self.ignore(Ignored::RstWithoutAck, None, events);
            }
            // Nobody listens on the peer's port.
            return self.change(State::Closed, Cause::Refused, events);
        }
        if !segment.has(TcpFlags::SYN) {
            return self.ignore(Ignored::NotSyn, None, events);
        }
        self.take_syn(&segment);
        match acked {
            Some(ack) => {
                // Our SYN is acknowledged: the connection is there.
                self.snd_una = ack;
                self.snd_wl2 = ack;
                self.retry = None;
                self.handshake_ack_due = true;
                self.change(State::Established, Cause::SynAck, events);
                self.after_established(events);
            }
            None => {
                // Their SYN crossed ours: answer it with a SYN-ACK.
                self.snd_nxt = self.iss;
                self.change(State::SynReceived, Cause::SimultaneousOpen, events);
            }
        }
    }
    // ANCHOR_END: in_syn_sent

    /// What a close() during the handshake left for now.
    fn after_established(&mut self, events: &mut Vec<Event>) {
        if self.fin_queued {
            self.change(State::FinWait1, Cause::Close, events);
        }
    }

    // ANCHOR: acceptable
    /// RFC 9293's test of an arriving segment's sequence number (3.10.7.4,
    /// first): some of it must fall in the receive window
    /// `RCV.NXT .. RCV.NXT + RCV.WND`, or, when it takes no sequence space,
    /// its number must.
    fn acceptable(&self, seq: SeqNumber, len: usize) -> bool {
        let window = usize::from(self.config.window);
        let end = self.rcv_nxt + window;
        match (len, window) {
            (0, 0) => seq == self.rcv_nxt,
            (0, _) => self.rcv_nxt <= seq && seq < end,
            (_, 0) => false,
            (_, _) => {
                let last = seq + (len - 1);
                (self.rcv_nxt <= seq && seq < end)
                    || (self.rcv_nxt <= last && last < end)
            }
        }
    }
    // ANCHOR_END: acceptable

    // ANCHOR: in_synchronized
    /// SYN-RECEIVED and every later state (RFC 9293, 3.10.7.4), in the RFC's
    /// order: sequence number, RST, SYN, ACK, data, FIN.
    fn in_synchronized(
        &mut self,
        segment: Segment,
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        let rst = segment.has(TcpFlags::RST);
        // First: is any of it in the window?
        if !self.acceptable(segment.seq, segment.seq_len()) {
            if self.state == State::SynReceived
                && segment.has(TcpFlags::SYN)
                && segment.ack.is_none()
                && Some(segment.seq) == self.irs
            {
                // The peer did not get our SYN-ACK and sent its SYN again.
                self.snd_nxt = self.iss;
                return self.ignore(Ignored::SynAgain, None, events);
            }
            if !rst {
                self.ack_due = true;
                if self.state == State::TimeWait && segment.has(TcpFlags::FIN) {
                    // Our last ACK was lost: TIME-WAIT starts over.
                    self.time_wait_until = Some(now + self.config.time_wait);
                }
            }
            return self.ignore(Ignored::OutOfWindow, None, events);
        }
        // Second: a RST counts only at exactly RCV.NXT (RFC 5961's defence
        // against blind resets); elsewhere in the window it is challenged.
        if rst {
            if segment.seq != self.rcv_nxt {
                self.ack_due = true;
                return self.ignore(Ignored::RstNotExact, None, events);
            }
            return self.reset_by_peer(events);
        }
        // Fourth (the third is about security labels): a SYN here is
        // challenged, never obeyed.
        if segment.has(TcpFlags::SYN) {
            self.ack_due = true;
            return self.ignore(Ignored::SynOnConnection, None, events);
        }
        // Fifth: the ACK.
        let Some(ack) = segment.ack else {
            return self.ignore(Ignored::NoAck, None, events);
        };
        if self.state == State::SynReceived {
            if !(self.snd_una < ack && ack <= self.snd_nxt) {
                self.reset_for(&segment);
                return self.ignore(Ignored::UnacceptableAck, None, events);
            }
            self.snd_una = ack;
            self.snd_wnd = u32::from(segment.window);
            self.snd_wl1 = segment.seq;
            self.snd_wl2 = ack;
            self.retry = None;
            self.change(State::Established, Cause::HandshakeAck, events);
            self.after_established(events);
        }
        if ack > self.snd_nxt {
            self.ack_due = true;
            return self.ignore(Ignored::AckOfUnsent, None, events);
        }
        self.take_ack(&segment, ack, now, events);
        if self.state == State::Closed {
            return; // LAST-ACK's FIN acknowledged: nothing more to do
        }
        // Sixth (URG is not supported) and seventh: the data.
        let text = self.trim(&segment);
        let fin = text.as_ref().is_some_and(|held| held.fin);
        match text {
            Some(text) if !text.payload.is_empty() || text.fin => {
                if matches!(
                    self.state,
                    State::Established | State::FinWait1 | State::FinWait2
                ) {
                    self.take_text(text, now, events);
                } else if !text.payload.is_empty() {
                    // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer's
                    // FIN is in; data after it cannot be.
                    self.ignore(Ignored::DataAfterFin, None, events);
                } else if fin && self.state == State::TimeWait {
                    self.ack_due = true;
                    self.time_wait_until = Some(now + self.config.time_wait);
                }
            }
            _ => {}
        }
    }
    // ANCHOR_END: in_synchronized

    /// Obeys the peer's RST: the connection is over (from SYN-RECEIVED of a
    /// passive open, back to LISTEN).
    fn reset_by_peer(&mut self, events: &mut Vec<Event>) {
        if self.state == State::SynReceived && self.passive {
            self.remote = None;
            self.irs = None;
            self.snd_una = self.iss;
            self.snd_nxt = self.iss;
            self.retry = None;
            self.fin_queued = false;
            self.change(State::Listen, Cause::PeerReset, events);
        } else {
            self.change(State::Closed, Cause::PeerReset, events);
        }
    }

    // ANCHOR: take_ack
    /// An acceptable ACK: what it acknowledges leaves the send buffer, the
    /// timer restarts for what is still out, the peer's window is taken, and
    /// an acknowledged FIN moves the state on.
    fn take_ack(
        &mut self,
        segment: &Segment,
        ack: SeqNumber,
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        if self.snd_una < ack {
            let mut acked = seq_distance(self.snd_una, ack);
            if let Some(fin) = self.fin_seq
                && ack > fin
            {
                self.fin_acked = true;
                acked -= 1;
            }
            let bytes = acked.min(self.send_buffer.len());
            self.send_buffer.drain(..bytes);
            self.stats.bytes_acked += bytes as u64;
            self.snd_una = ack;
            // A fresh clock for whatever is still out.
            self.retry = (self.snd_una != self.snd_nxt).then(|| Retry {
                first: now,
                deadline: now + self.config.rto,
                attempt: 1,
            });
        }
        // The window, from the newest segment only (SND.WL1, SND.WL2).
        if self.snd_una <= ack
            && (self.snd_wl1 < segment.seq
                || (self.snd_wl1 == segment.seq && self.snd_wl2 <= ack))
        {
            self.snd_wnd = u32::from(segment.window);
            self.snd_wl1 = segment.seq;
            self.snd_wl2 = ack;
        }
        if self.fin_acked {
            match self.state {
                State::FinWait1 => {
                    self.change(State::FinWait2, Cause::FinAcked, events)
                }
                State::Closing => {
                    self.time_wait_until = Some(now + self.config.time_wait);
                    self.change(State::TimeWait, Cause::FinAcked, events);
                }
                State::LastAck => {
                    self.change(State::Closed, Cause::FinAcked, events)
                }
                _ => {}
            }
        }
    }
    // ANCHOR_END: take_ack

    /// The part of `segment`'s data and FIN that lies at or after RCV.NXT and
    /// inside the window; `None` if nothing does.
    fn trim(&self, segment: &Segment) -> Option<Held> {
        let mut seq = segment.seq;
        let mut payload: &[u8] = &segment.payload;
        let mut fin = segment.has(TcpFlags::FIN);
        if seq < self.rcv_nxt {
            // Already received up to RCV.NXT: keep the rest.
            let old = seq_distance(seq, self.rcv_nxt);
            if old > payload.len() {
                return None;
            }
            payload = &payload[old..];
            seq = self.rcv_nxt;
        }
        let end = self.rcv_nxt + usize::from(self.config.window);
        let room = seq_distance(seq, end);
        if payload.len() > room {
            payload = &payload[..room];
            fin = false; // the FIN lies beyond the window too
        }
        Some(Held {
            seq,
            payload: payload.to_vec(),
            fin,
        })
    }

    // ANCHOR: take_text
    /// Data at RCV.NXT is delivered, and so is whatever held data it joins;
    /// data beyond a gap is held (a bounded number of segments) or dropped.
    /// Either way an ACK goes out: a duplicate one tells the peer where the
    /// gap is.
    fn take_text(&mut self, text: Held, now: Instant, events: &mut Vec<Event>) {
        self.ack_due = true;
        if text.seq != self.rcv_nxt {
            let (seq, len) = (self.theirs(text.seq), text.payload.len());
            if self.held.iter().any(|held| held.seq == text.seq) {
                return; // a copy of one held already
            }
            if self.held.len() >= self.config.max_held {
                self.stats.ignored.add("dropped-out-of-order");
                return events.push(Event::Dropped { seq, len });
            }
            self.held.push(text);
            return events.push(Event::Held { seq, len });
        }
        self.deliver(text, now, events);
        // Held segments the new data reaches.
        while let Some(i) =
            self.held.iter().position(|held| held.seq <= self.rcv_nxt)
        {
            let held = self.held.swap_remove(i);
            let old = seq_distance(held.seq, self.rcv_nxt);
            if old > held.payload.len() || (old == held.payload.len() && !held.fin) {
                continue; // nothing new in it
            }
            let rest = Held {
                seq: self.rcv_nxt,
                payload: held.payload[old..].to_vec(),
                fin: held.fin,
            };
            self.deliver(rest, now, events);
        }
    }
    // ANCHOR_END: take_text

    /// In-order data (and FIN) at RCV.NXT.
    fn deliver(&mut self, text: Held, now: Instant, events: &mut Vec<Event>) {
        if !text.payload.is_empty() {
            self.rcv_nxt += text.payload.len();
            self.stats.bytes_received += text.payload.len() as u64;
            events.push(Event::Data(text.payload));
        }
        if text.fin {
            self.take_fin(now, events);
        }
    }

    // ANCHOR: take_fin
    /// The peer's FIN, in order: it sends nothing more. It takes one sequence
    /// number, and is acknowledged.
    fn take_fin(&mut self, now: Instant, events: &mut Vec<Event>) {
        self.rcv_nxt += 1;
        self.ack_due = true;
        self.held.clear();
        match self.state {
            State::SynReceived | State::Established => {
                self.change(State::CloseWait, Cause::PeerFin, events)
            }
            State::FinWait1 if self.fin_acked => {
                self.time_wait_until = Some(now + self.config.time_wait);
                self.change(State::TimeWait, Cause::PeerFinAndAck, events);
            }
            State::FinWait1 => self.change(State::Closing, Cause::PeerFin, events),
            State::FinWait2 => {
                self.time_wait_until = Some(now + self.config.time_wait);
                self.change(State::TimeWait, Cause::PeerFin, events);
            }
            _ => {}
        }
    }
    // ANCHOR_END: take_fin

    /// What is oldest among what is out, for the lines about resends.
    fn unacked(&self) -> Unacked {
        match self.state {
            State::SynSent => Unacked::Syn,
            State::SynReceived => Unacked::SynAck,
            _ if self.snd_una == self.snd_nxt => Unacked::WindowProbe,
            _ if Some(self.snd_una) == self.fin_seq => Unacked::Fin,
            _ => {
                let from = self.ours(self.snd_una);
                let sent = seq_distance(self.snd_una, self.snd_nxt)
                    .min(self.send_buffer.len());
                Unacked::Data(from, from + sent as u32)
            }
        }
    }

    // ANCHOR: on_timeout
    /// The clock: a retransmission whose wait is over goes out again (the
    /// whole of what is unacknowledged, from SND.UNA: "go back N"), or the
    /// connection is given up after its last try; TIME-WAIT ends.
    pub fn on_timeout(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        if let Some(until) = self.time_wait_until
            && now >= until
        {
            self.change(State::Closed, Cause::TimeWaitOver, &mut events);
            return events;
        }
        let Some(retry) = self.retry else {
            return events;
        };
        if now < retry.deadline {
            return events;
        }
        let what = self.unacked();
        if retry.attempt >= self.config.tries {
            let gave_up = GaveUp {
                what,
                tries: retry.attempt,
                waited: retry.deadline.saturating_duration_since(retry.first),
            };
            if self.state.synchronized()
                && let Some(remote) = self.remote
            {
                // Tell the peer, so that it does not wait for ever either.
                let rst = Segment::new(
                    self.local,
                    remote,
                    self.snd_nxt,
                    None,
                    TcpFlags::RST,
                    0,
                );
                self.control.push_back(rst);
            }
            self.change(State::Closed, Cause::GaveUp(gave_up), &mut events);
            return events;
        }
        let waited = self.config.wait_after(retry.attempt);
        let attempt = retry.attempt + 1;
        self.retry = Some(Retry {
            first: retry.first,
            // From the nominal deadline: a late wake-up does not push the
            // later ones back.
            deadline: retry.deadline + self.config.wait_after(attempt),
            attempt,
        });
        self.snd_nxt = match self.state {
            State::SynSent | State::SynReceived => self.iss,
            _ => self.snd_una,
        };
        // Against a zero window the resend is a one-byte probe.
        self.probe = self.state.synchronized() && self.snd_wnd == 0;
        self.stats.resent += 1;
        events.push(Event::Resend(Resend {
            what,
            attempt,
            tries: self.config.tries,
            waited,
        }));
        events
    }
    // ANCHOR_END: on_timeout

    /// Starts the retransmission clock if it is not running.
    fn arm(&mut self, now: Instant) {
        if self.retry.is_none() {
            self.retry = Some(Retry {
                first: now,
                deadline: now + self.config.rto,
                attempt: 1,
            });
        }
    }

    fn out(&mut self, segment: Segment) -> Outgoing {
        self.stats.segments_written += 1;
        Outgoing {
            bytes: segment.to_bytes(),
            seen: self.seen_out(&segment),
        }
    }

    /// A segment from us to the peer with the ACK of what we received.
    fn to_peer(&self, seq: SeqNumber, flags: TcpFlags) -> Option<Segment> {
        let remote = self.remote?;
        let ack = self.irs.map(|_| self.rcv_nxt);
        Some(Segment::new(
            self.local,
            remote,
            seq,
            ack,
            flags,
            self.config.window,
        ))
    }

    // ANCHOR: poll_transmit
    /// The next segment to write at `now`, if any: a RST owed, our SYN or
    /// SYN-ACK, data as far as the peer's window allows, our FIN, or an ACK.
    /// Call it until it returns `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        if let Some(rst) = self.control.pop_front() {
            return Some(self.out(rst));
        }
        match self.state {
            State::Closed | State::Listen => return None,
            State::SynSent | State::SynReceived => {
                if self.snd_nxt != self.iss {
                    return None; // sent; the timer resends it
                }
                let flags = TcpFlags::SYN;
                let mut syn = self.to_peer(self.iss, flags)?;
                syn.options.push(TcpOption::Mss(self.config.mss));
                self.snd_nxt = self.iss + 1;
                self.arm(now);
                return Some(self.out(syn));
            }
            _ => {}
        }
        if std::mem::take(&mut self.handshake_ack_due) {
            self.ack_due = false;
            let ack = self.to_peer(self.snd_nxt, TcpFlags(0))?;
            return Some(self.out(ack));
        }
        if let Some(data) = self.next_data(now) {
            return Some(data);
        }
        if let Some(fin) = self.next_fin(now) {
            return Some(fin);
        }
        if std::mem::take(&mut self.ack_due) {
            let ack = self.to_peer(self.snd_nxt, TcpFlags(0))?;
            return Some(self.out(ack));
        }
        None
    }
    // ANCHOR_END: poll_transmit

    // ANCHOR: next_data
    /// Unsent data, no more than the peer's window leaves room for, nor than
    /// one segment (the smaller MSS of the two ends) holds.
    fn next_data(&mut self, now: Instant) -> Option<Outgoing> {
        if self.fin_acked || self.state == State::TimeWait {
            return None;
        }
        let sent = seq_distance(self.snd_una, self.snd_nxt);
        let unsent = self.send_buffer.len().saturating_sub(sent);
        if unsent == 0 {
            return None;
        }
        let window_end = self.snd_una + self.snd_wnd as usize;
        let room = seq_distance(self.snd_nxt, window_end);
        let mss = usize::from(self.peer_mss.min(self.config.mss));
        let mut len = unsent.min(room).min(mss);
        if len == 0 {
            if std::mem::take(&mut self.probe) {
                len = 1; // past a zero window, one byte: is it open again?
            } else {
                // A zero window, nothing out: the timer will probe it.
                if self.snd_una == self.snd_nxt {
                    self.arm(now);
                }
                return None;
            }
        }
        let last = sent + len == self.send_buffer.len();
        let flags = if last { TcpFlags::PSH } else { TcpFlags(0) };
        let mut segment = self.to_peer(self.snd_nxt, flags)?;
        segment.payload =
            self.send_buffer.range(sent..sent + len).copied().collect();
        self.snd_nxt += len;
        self.ack_due = false;
        self.arm(now);
        Some(self.out(segment))
    }
    // ANCHOR_END: next_data

    /// Our FIN, once every byte before it is sent.
    fn next_fin(&mut self, now: Instant) -> Option<Outgoing> {
        if !self.fin_queued
            || self.fin_acked
            || !matches!(
                self.state,
                State::FinWait1 | State::Closing | State::LastAck
            )
        {
            return None;
        }
        let fin_seq = self.snd_una + self.send_buffer.len();
        if self.snd_nxt != fin_seq {
            return None; // data still to send, or the FIN is out already
        }
        self.fin_seq = Some(fin_seq);
        let fin = self.to_peer(fin_seq, TcpFlags::FIN)?;
        self.snd_nxt = fin_seq + 1;
        self.ack_due = false;
        self.arm(now);
        Some(self.out(fin))
    }
}

#[cfg(test)]
mod tests;
