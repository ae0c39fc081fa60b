//! The thin loop: one epoll set over our end's raw socket, a timerfd, a
//! signalfd and a witness socket, moving bytes between them and a [`Tcb`].
//!
//! Everything TCP decides is the [`Tcb`]'s; what the application does is the
//! [`App`]'s. This loop reads what the socket has (the Tcb gets each packet),
//! sets the timerfd to the Tcb's next deadline (the Tcb gets the time when it
//! fires), writes what the Tcb has to send, and prints what happened.
//!
//! The witness is one more raw socket, bound to nothing: it reads every TCP
//! segment of the namespace, keeps those to or from one of our ends, counts
//! the RSTs among them, and records them for `--pcap`. Our end's own socket
//! cannot do that: bound and connected to the peer, it never reads what goes
//! *to* the peer, such as a RST the kernel sends in our name.

use std::io::Write as _;
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, SockaddrIn, sendto};
use step_01_socket::{
    Family, MAX_PACKET, RawSocket, SeqNumber, SysError, TcpFlags, parse_received,
};
use step_03_epoll::{Event as Ready, EventSet, Flags, Signals, Timer};
use step_04_echo::capture::Capture;

use crate::app::App;
use crate::silence::mark_our_segments;
use crate::tcb::{Cause, Config, Event, Outgoing, State, Stats, Tcb};

/// epoll tokens.
const SIGNALS: u64 = 0;
const TIMER: u64 = 1;
const SOCKET: u64 = 2;
const WITNESS: u64 = 3;

// ANCHOR: open_raw
/// Our end's raw socket at `me`: bound to its address, connected to `peer`'s
/// when there is one peer (a client), non-blocking, and marking what it
/// sends (see `silence`).
pub fn open_raw(
    role: &str,
    me: SocketAddrV4,
    peer: Option<SocketAddrV4>,
    output: &Output,
) -> Result<RawSocket, SysError> {
    let socket = match peer {
        Some(peer) => step_02_bind_connect::open_connected(me, peer)?,
        None => {
            let socket = RawSocket::open(Family::AfInet)?;
            step_02_bind_connect::bind(&socket, me)?;
            socket
        }
    };
    socket.set_nonblocking()?;
    mark_our_segments(&socket)?;
    let connected = match peer {
        Some(peer) => format!(", connected to {}", peer.ip()),
        None => String::new(),
    };
    output.say(
        role,
        format_args!(
            "socket(AF_INET, SOCK_RAW, IPPROTO_TCP), bound to {}{connected}",
            me.ip()
        ),
    );
    Ok(socket)
}
// ANCHOR_END: open_raw

/// A random initial sequence number (RFC 6528 wants it unpredictable).
pub fn random_isn() -> SeqNumber {
    use std::io::Read as _;
    let mut bytes = [0u8; 4];
    // The kernel's random source, as getrandom(2) would give it: a file
    // anybody may read, so no system call of our own.
    let read = std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut bytes));
    if read.is_err() {
        // No randomness to be had: the clock's nanoseconds, which differ
        // from run to run all the same.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        return SeqNumber(nanos);
    }
    SeqNumber(u32::from_ne_bytes(bytes))
}

/// Where the lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// Lines about the connection to standard error (the modes), or to
    /// standard output (the demo).
    pub trace_to_stderr: bool,
    /// The peer's bytes to standard output as they are (the modes), or as a
    /// line of text (the demo).
    pub raw_data: bool,
    /// Also the segments of no connection of ours.
    pub verbose: bool,
}

impl Output {
    /// The demo: one story on standard output.
    pub fn demo(verbose: bool) -> Output {
        Output {
            trace_to_stderr: false,
            raw_data: false,
            verbose,
        }
    }

    /// The modes: data on standard output, the rest on standard error.
    pub fn mode(verbose: bool) -> Output {
        Output {
            trace_to_stderr: true,
            raw_data: true,
            verbose,
        }
    }

    /// Prints a line.
    pub fn say(&self, role: &str, line: impl std::fmt::Display) {
        if self.trace_to_stderr {
            eprintln!("{role}: {line}");
        } else {
            println!("{role}: {line}");
        }
    }
}

/// One of our ends: its socket and what it should do.
pub struct Endpoint {
    /// `client` or `server`, as its lines begin.
    pub role: &'static str,
    /// Its raw socket (see [`open_raw`]).
    pub socket: RawSocket,
    /// Its address and port.
    pub me: SocketAddrV4,
    /// Its TCP's numbers.
    pub config: Config,
    /// Its application, as it starts each connection.
    pub app: App,
    /// How many connections before it stops; `None`: until a signal.
    pub connections: Option<u64>,
}

/// How one connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The peer, if one came.
    pub remote: Option<SocketAddrV4>,
    /// What closed it; `None` if it was still open when the loop stopped.
    pub cause: Option<Cause>,
    /// What it did.
    pub stats: Stats,
    /// Writes the kernel refused (a firewall rule dropped them).
    pub refused: u64,
}

impl Ended {
    /// Whether it ended in an orderly close: both FINs acknowledged.
    pub fn orderly(&self) -> bool {
        matches!(self.cause, Some(Cause::TimeWaitOver | Cause::FinAcked))
    }
}

/// What [`Loop::run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Each connection, in order.
    pub connections: Vec<Ended>,
    /// Whether SIGINT or SIGTERM stopped it.
    pub stopped: bool,
}

/// The epoll set and what it watches besides our end's socket.
pub struct Loop {
    events: EventSet,
    signals: Signals,
    timer: Timer,
    witness: RawSocket,
    /// Our ends: the witness keeps the segments to or from these.
    ends: Vec<SocketAddrV4>,
    capture: Capture,
    output: Output,
    buf: Vec<u8>,
    /// Segments the witness kept.
    pub witnessed: u64,
    /// RSTs among them.
    pub rsts: u64,
}

impl Loop {
    /// One epoll set with the signalfd `main` opened first, a timerfd and
    /// the witness.
    pub fn new(
        signals: Signals,
        capture: Capture,
        output: Output,
        ends: &[SocketAddrV4],
    ) -> Result<Loop, support::Error> {
        let events = EventSet::new()?;
        events.add(&signals, SIGNALS, Flags::EPOLLIN)?;
        let timer = Timer::new()?;
        events.add(&timer, TIMER, Flags::EPOLLIN)?;
        let witness = RawSocket::open(Family::AfInet)?;
        witness.set_nonblocking()?;
        capture.watch(&witness)?;
        events.add(&witness, WITNESS, Flags::EPOLLIN)?;
        Ok(Loop {
            events,
            signals,
            timer,
            witness,
            ends: ends.to_vec(),
            capture,
            output,
            buf: vec![0; MAX_PACKET],
            witnessed: 0,
            rsts: 0,
        })
    }

    /// The `--pcap` file's summary line, once everything is done.
    pub fn finish(self) -> Option<Result<String, support::pcap::PcapError>> {
        self.capture.finish()
    }

    // ANCHOR: run
    /// Runs `end` until its connections are done or a signal comes.
    pub fn run(&mut self, end: &Endpoint) -> Result<Report, support::Error> {
        self.events.add(&end.socket, SOCKET, Flags::EPOLLIN)?;
        let mut report = Report::default();
        let mut conn = Connection::start(end, &self.output);
        let mut ready = [Ready::empty(); 8];
        loop {
            let now = Instant::now();
            let events = conn.tcb.on_timeout(now);
            conn.handle(events, &self.output, end.role);
            conn.transmit(end, &self.output, now)?;
            if conn.tcb.state() == State::Closed {
                report.connections.push(conn.ended(end.role, &self.output));
                let wanted = end.connections.unwrap_or(u64::MAX);
                if report.connections.len() as u64 >= wanted {
                    break;
                }
                conn = Connection::start(end, &self.output);
                continue;
            }
            match conn.tcb.next_deadline() {
                Some(at) => {
                    self.timer.arm_once(at.saturating_duration_since(now))?
                }
                None => self.timer.disarm()?,
            }
            let n = self.events.wait(&mut ready, None)?;
            let mut signal = None;
            for event in &ready[..n] {
                match event.data() {
                    SIGNALS => signal = signal.or(self.signals.read()?),
                    TIMER => drop(self.timer.expirations()?),
                    SOCKET => self.read_socket(end, &mut conn)?,
                    WITNESS => self.read_witness()?,
                    _ => {}
                }
            }
            if let Some(signal) = signal {
                self.output
                    .say(end.role, format!("{signal} received, stopping"));
                let events = conn.tcb.abort();
                conn.handle(events, &self.output, end.role);
                conn.transmit(end, &self.output, Instant::now())?;
                report.connections.push(conn.ended(end.role, &self.output));
                report.stopped = true;
                break;
            }
        }
        self.events.delete(&end.socket)?;
        // What crossed lo last (our final ACK) is queued for the witness by
        // now: lo delivers while write() runs.
        self.read_witness()?;
        Ok(report)
    }
    // ANCHOR_END: run

    /// Every packet queued on our end's socket, to the Tcb.
    fn read_socket(
        &mut self,
        end: &Endpoint,
        conn: &mut Connection,
    ) -> Result<(), SysError> {
        while let Some(len) = try_read(end.role, &end.socket, &mut self.buf) {
            let events = conn.tcb.on_packet(&self.buf[..len], Instant::now());
            conn.handle(events, &self.output, end.role);
        }
        Ok(())
    }

    /// Every packet queued on the witness: kept if it is to or from one of
    /// our ends, RSTs counted (and each said), recorded for `--pcap`.
    fn read_witness(&mut self) -> Result<(), support::Error> {
        while let Some(len) = try_read("witness", &self.witness, &mut self.buf) {
            let bytes = &self.buf[..len];
            let Ok(packet) = parse_received(bytes) else {
                continue;
            };
            let ours = self.ends.contains(&packet.src())
                || self.ends.contains(&packet.dst());
            if !ours {
                continue;
            }
            self.witnessed += 1;
            if packet.tcp.flags().contains(TcpFlags::RST) {
                self.rsts += 1;
                // Its numbers would be absolute: the witness knows no ISN.
                let (src, dst) = (packet.src(), packet.dst());
                self.output
                    .say("witness", format_args!("a RST, {src} > {dst}"));
            }
            self.capture.record(&self.witness, bytes)?;
        }
        Ok(())
    }
}

/// One packet, or `None` once nothing is queued (a read error is reported and
/// ends this drain too).
fn try_read(role: &str, socket: &RawSocket, buf: &mut [u8]) -> Option<usize> {
    match socket.try_recv(buf) {
        Ok(len) => len,
        Err(error) => {
            eprintln!("{role}: {error} (reported; reading on)");
            None
        }
    }
}

/// One connection of an end: its Tcb and application, and what the loop
/// counted for it.
struct Connection {
    tcb: Tcb,
    app: App,
    cause: Option<Cause>,
    refused: u64,
}

impl Connection {
    /// A new Tcb with a random ISN, and the application's first calls.
    fn start(end: &Endpoint, output: &Output) -> Connection {
        let mut conn = Connection {
            tcb: Tcb::new(end.config, end.me, random_isn()),
            app: end.app.clone(),
            cause: None,
            refused: 0,
        };
        let events = conn.app.start(&mut conn.tcb);
        conn.handle(events, output, end.role);
        conn
    }

    // ANCHOR: handle
    /// Prints each event, and lets the application react to it (which may
    /// make more).
    fn handle(&mut self, events: Vec<Event>, output: &Output, role: &str) {
        let mut queue = std::collections::VecDeque::from(events);
        while let Some(event) = queue.pop_front() {
            match &event {
                // Not about our connection: only with -v.
                Event::Ignored { seen: Some(_), .. } if !output.verbose => {}
                Event::Data(bytes) if output.raw_data => {
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
                    output.say(role, format!("received {} bytes", bytes.len()));
                }
                _ => output.say(role, &event),
            }
            if let Event::State {
                to: State::Closed,
                cause,
                ..
            } = &event
            {
                self.cause = Some(cause.clone());
            }
            queue.extend(self.app.react(&event, &mut self.tcb));
        }
    }
    // ANCHOR_END: handle

    // ANCHOR: transmit
    /// Writes every segment the Tcb has for now. A write the kernel refuses
    /// (a firewall rule dropped it: EPERM) is a segment lost before it left;
    /// the Tcb's resend covers it.
    fn transmit(
        &mut self,
        end: &Endpoint,
        output: &Output,
        now: Instant,
    ) -> Result<(), SysError> {
        while let Some(out) = self.tcb.poll_transmit(now) {
            match write(&end.socket, &out) {
                Ok(()) => output.say(end.role, format_args!("  wrote {}", out.seen)),
                Err(error)
                    if matches!(
                        error.errno,
                        Errno::EPERM | Errno::EACCES | Errno::ENOBUFS
                    ) =>
                {
                    self.refused += 1;
                    output.say(
                        end.role,
                        format_args!("  NOT SENT {}: {error}", out.seen),
                    );
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
    // ANCHOR_END: transmit

    /// The connection's summary lines.
    fn ended(&self, role: &str, output: &Output) -> Ended {
        let stats = self.tcb.stats().clone();
        let peer = self
            .tcb
            .remote()
            .map_or("no peer".to_owned(), |remote| remote.to_string());
        output.say(
            role,
            format_args!(
                "connection with {peer} over: read {}, wrote {} ({} again); \
                 {} bytes received, {} of ours acknowledged",
                segments(stats.segments_read),
                segments(stats.segments_written),
                stats.resent,
                stats.bytes_received,
                stats.bytes_acked
            ),
        );
        output.say(role, format_args!("ignored: {}", stats.ignored));
        if self.refused > 0 {
            output.say(
                role,
                format_args!(
                    "writes refused {} (a firewall rule dropped them)",
                    self.refused
                ),
            );
        }
        Ended {
            remote: self.tcb.remote(),
            cause: self.cause.clone(),
            stats,
            refused: self.refused,
        }
    }
}

/// `1 segment`, `2 segments`.
fn segments(n: u64) -> String {
    if n == 1 {
        "1 segment".to_owned()
    } else {
        format!("{n} segments")
    }
}

/// `sendto()` one segment to its destination: the kernel adds the IPv4
/// header. A raw socket sends all of it or nothing.
fn write(socket: &RawSocket, out: &Outgoing) -> Result<(), SysError> {
    let dst = out.seen.segment.dst;
    let call = || format!("sendto({} bytes, {dst})", out.bytes.len());
    let sent = sendto(
        socket.as_raw_fd(),
        &out.bytes,
        &SockaddrIn::from(dst),
        MsgFlags::empty(),
    )
    .map_err(|e| SysError::new(call(), e))?;
    if sent != out.bytes.len() {
        return Err(SysError::new(format!("{} sent {sent}", call()), Errno::EIO));
    }
    Ok(())
}
