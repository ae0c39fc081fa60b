//! The echo's event loop: each side's raw socket, one epoll set, a timerfd and
//! a signalfd, driving the state machines of [`crate::protocol`].
//!
//! Each side's socket is `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, bound to its
//! own address and connected to the other side's ([`open_socket`]). One epoll
//! set waits for the sockets, a timerfd (the client's pacing, resends and reply
//! deadlines) and a signalfd (SIGINT and SIGTERM, which `main` blocks as the
//! first thing it does). The loop is thin: it reads, hands the bytes to a
//! machine, writes what the machine returns, and arms the timer for what is
//! due next. What a read means and what to send back is the machines'
//! business. A write the kernel refuses for one packet is taken as that
//! packet lost, not as the end.
//!
//! What happens goes to a [`Report`]: the demo prints it
//! ([`Print`](crate::report::Print)), the bench only notes the round trips'
//! times. The loop formats nothing itself, so when nothing is printed,
//! nothing is formatted.
//!
//! The loop takes sockets that are open already: [`Echo::open`] opens step
//! 4's, and a later step hands it its own, prepared as it likes (step 5
//! attaches a filter to each). It counts each side's wake-ups and reads
//! itself.
//!
//! With `--pcap`, every packet the sockets read goes to the file as well (see
//! [`crate::capture`]).

use std::fmt;
use std::net::SocketAddrV4;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use step_01_socket::{MAX_PACKET, RawSocket, SysError};
use step_02_bind_connect::send;
use step_03_epoll::{Event, EventSet, Flags, Signals, Timer, open_nonblocking};
use support::Error;
use support::advice::advice_for_call;
use support::privileges::drop_after_sudo;

use crate::capture::Capture;
use crate::protocol::{Client, ClientConfig, Outgoing, Overdue, Server};
use crate::report::{Report, Role, Said};

// ANCHOR: tokens
/// The 64-bit token each fd is registered with: how the loop knows who woke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Signals = 1,
    Timer = 2,
    Server = 3,
    Client = 4,
    Mirror = 5,
}

impl Token {
    const ALL: [Token; 5] = [
        Token::Signals,
        Token::Timer,
        Token::Server,
        Token::Client,
        Token::Mirror,
    ];

    fn from_data(data: u64) -> Option<Token> {
        Token::ALL.into_iter().find(|token| *token as u64 == data)
    }
}
// ANCHOR_END: tokens

/// How long a finished client keeps reading, so the kernel's last RSTs are
/// counted too.
const LINGER: Duration = Duration::from_millis(50);

/// One side: its raw socket, its state machine, and what the loop counted.
#[derive(Debug)]
pub struct Side<M> {
    socket: RawSocket,
    machine: M,
    /// Writes the kernel refused (see `write_segment`).
    refused: u64,
    /// `epoll_wait` returns that reported the socket readable.
    wakes: u64,
    /// Packets read from it.
    reads: u64,
}

impl<M> Side<M> {
    /// `machine` driven through `socket`, which is bound, connected and
    /// non-blocking.
    pub fn new(socket: RawSocket, machine: M) -> Side<M> {
        Side {
            socket,
            machine,
            refused: 0,
            wakes: 0,
            reads: 0,
        }
    }

    /// The state machine.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// How often the socket woke the loop up.
    pub fn wakes(&self) -> u64 {
        self.wakes
    }

    /// How many packets were read from it.
    pub fn reads(&self) -> u64 {
        self.reads
    }
}

/// Everything the loop waits on, and the sides it drives.
pub struct Echo<R: Report> {
    events: EventSet,
    signals: Signals,
    /// Only a client needs a clock.
    timer: Option<Timer>,
    /// When the timer is set to expire, if it is set.
    armed: Option<Instant>,
    server: Option<Side<Server>>,
    client: Option<Side<Client>>,
    /// Where --pcap records every read, or nothing; and its mirror socket.
    capture: Capture,
    /// One read's worth: the largest IPv4 packet.
    buf: Vec<u8>,
    report: R,
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client did all it was asked to.
    Done,
    /// SIGINT or SIGTERM.
    Stopped,
}

/// What the one epoll set watches, as the setup's line says it.
struct Watched {
    server: bool,
    client: bool,
    mirror: bool,
}

impl fmt::Display for Watched {
    /// `a signalfd (SIGINT, SIGTERM), the server's socket, ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a signalfd (SIGINT, SIGTERM)")?;
        if self.server {
            f.write_str(", the server's socket")?;
        }
        if self.client {
            f.write_str(", the client's socket, a timerfd")?;
        }
        if self.mirror {
            f.write_str(", the mirror socket")?;
        }
        Ok(())
    }
}

// ANCHOR: open_socket
/// A raw TCP socket that reads only what `peer`'s address sends to `me`'s, and
/// writes to `peer`. The kernel's filters ignore ports: the machines check them.
pub fn open_socket(
    role: Role,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<RawSocket, SysError> {
    // Step 3's socket: bound, connected, non-blocking (epoll does the waiting).
    let socket = open_nonblocking(me, peer)?;
    println!(
        "{role}: socket(AF_INET, SOCK_RAW, IPPROTO_TCP), \
         bound to {}, connected to {}",
        me.ip(),
        peer.ip()
    );
    Ok(socket)
}
// ANCHOR_END: open_socket

impl<R: Report> Echo<R> {
    // ANCHOR: open
    /// Step 4's echo: a socket for each side asked for, a mirror socket if
    /// `--pcap` needs one, root given up once they are open, and the loop set
    /// up around them.
    pub fn open(
        signals: Signals,
        server: Option<(SocketAddrV4, SocketAddrV4)>,
        client: Option<(SocketAddrV4, SocketAddrV4, ClientConfig)>,
        mut capture: Capture,
        mut report: R,
    ) -> Result<Echo<R>, Error> {
        let alone = match (server, client) {
            (Some((me, peer)), None) | (None, Some((me, peer, _))) => {
                Some((me, peer))
            }
            _ => None,
        };
        let server = match server {
            Some((me, peer)) => {
                let socket = open_socket(Role::Server, me, peer)?;
                Some(Side::new(socket, Server::new(me, peer)))
            }
            None => None,
        };
        let client = match client {
            Some((me, peer, config)) => {
                let socket = open_socket(Role::Client, me, peer)?;
                let machine = Client::new(me, peer, config, Instant::now());
                Some(Side::new(socket, machine))
            }
            None => None,
        };
        if let Some((me, peer)) = alone {
            capture.open_mirror(me, peer)?;
        }
        // Every socket is open (and the --pcap file): give root up.
        if let Some(dropped) = drop_after_sudo()? {
            report.report(Said::Line(format_args!("{dropped}")));
        }
        Echo::new(signals, server, client, capture, report)
    }
    // ANCHOR_END: open

    // ANCHOR: setup
    /// Sets up one epoll set with the signalfd `main` opened first, and each
    /// side's socket, open already; says what it watches and who talks to
    /// whom.
    pub fn new(
        signals: Signals,
        server: Option<Side<Server>>,
        client: Option<Side<Client>>,
        capture: Capture,
        mut report: R,
    ) -> Result<Echo<R>, Error> {
        // The signalfd first: a signal that came during setup is already
        // waiting in it, and the loop's first wait reports it.
        let events = EventSet::new()?;
        events.add(&signals, Token::Signals as u64, Flags::EPOLLIN)?;
        let watched = Watched {
            server: server.is_some(),
            client: client.is_some(),
            mirror: capture.mirror().is_some(),
        };
        if let Some(side) = &server {
            // With --pcap: each packet stamped with its arrival time.
            capture.watch(&side.socket)?;
            events.add(&side.socket, Token::Server as u64, Flags::EPOLLIN)?;
        }
        let timer = match &client {
            Some(side) => {
                capture.watch(&side.socket)?;
                events.add(&side.socket, Token::Client as u64, Flags::EPOLLIN)?;
                let timer = Timer::new()?;
                events.add(&timer, Token::Timer as u64, Flags::EPOLLIN)?;
                Some(timer)
            }
            None => None,
        };
        if let Some(mirror) = capture.mirror() {
            events.add(mirror, Token::Mirror as u64, Flags::EPOLLIN)?;
        }
        report.report(Said::Line(format_args!(
            "epoll: one set watching {watched}"
        )));
        let mut echo = Echo {
            events,
            signals,
            timer,
            armed: None,
            server,
            client,
            capture,
            buf: vec![0; MAX_PACKET],
            report,
        };
        echo.announce();
        Ok(echo)
    }
    // ANCHOR_END: setup

    /// Says who talks to whom, and until when.
    fn announce(&mut self) {
        let until = if self.client.is_some() {
            "until the client is done"
        } else {
            "until Ctrl+C"
        };
        if let Some(Side { machine, .. }) = &self.server {
            let (peer, me) = (machine.peer(), machine.me());
            let line = format_args!("server: answering {peer} at {me}, {until}");
            self.report.report(Said::Line(line));
        }
        if let Some(Side { machine, .. }) = &self.client {
            let (peer, me, config) =
                (machine.peer(), machine.me(), machine.config());
            let line = format_args!("client: asking {peer} from {me}: {config}");
            self.report.report(Said::Line(line));
        }
    }

    /// The server's side, if there is one.
    pub fn server(&self) -> Option<&Side<Server>> {
        self.server.as_ref()
    }

    /// The client's side, if there is one.
    pub fn client(&self) -> Option<&Side<Client>> {
        self.client.as_ref()
    }

    /// The report, as the loop left it.
    pub fn report(&self) -> &R {
        &self.report
    }

    /// The whole echo, as step 4 runs it: the loop, each side's summary, the
    /// --pcap file closed, and the exit status.
    pub fn run(mut self) -> Result<ExitCode, Error> {
        let ending = self.run_loop()?;
        self.summarise(Role::Client);
        self.summarise(Role::Server);
        Ok(self.finish(ending))
    }

    // ANCHOR: event_loop
    /// Waits, reacts, repeats: until the client is done or a signal arrives;
    /// then reads for a little longer what is still on its way.
    pub fn run_loop(&mut self) -> Result<Ending, Error> {
        let mut ready = [Event::empty(); 8];
        let ending = loop {
            if self.tick()? {
                break Ending::Done;
            }
            // No timeout: the timerfd wakes us when the client has work to do.
            let n = self.events.wait(&mut ready, None)?;
            // Every returned event, not just the first.
            let mut signal = None;
            for event in &ready[..n] {
                match Token::from_data(event.data()) {
                    Some(Token::Signals) => {
                        signal = signal.or(self.signals.read()?)
                    }
                    Some(Token::Timer) => self.read_timer()?,
                    Some(Token::Server) => self.serve()?,
                    Some(Token::Client) => self.receive()?,
                    Some(Token::Mirror) => self.mirror()?,
                    None => {}
                }
            }
            if let Some(signal) = signal {
                let line = format_args!("signal: {signal} received, stopping");
                self.report.report(Said::Line(line));
                break Ending::Stopped;
            }
        };
        if let Some(timer) = &self.timer {
            timer.disarm()?;
        }
        self.linger(match ending {
            Ending::Done => LINGER,
            Ending::Stopped => Duration::ZERO,
        })?;
        Ok(ending)
    }
    // ANCHOR_END: event_loop

    // ANCHOR: tick
    /// The client's clock: resends the requests whose wait is over (or reports
    /// them lost after their last try), sends the request that is due, and
    /// sets the timer for whatever comes next. True once it is done.
    ///
    /// The timer is set again only when the next deadline is earlier than the
    /// one it is set for: a reply that comes in time moves the deadline later,
    /// and the timer then expires early, once, finds nothing due, and is set
    /// for the real deadline. So the client does not call `timerfd_settime`
    /// for every request it sends.
    fn tick(&mut self) -> Result<bool, Error> {
        let (Some(client), Some(timer)) = (&mut self.client, &self.timer) else {
            return Ok(false);
        };
        let now = Instant::now();
        let report = &mut self.report;
        while let Some(overdue) = client.machine.on_timeout(now) {
            report.report(Said::Overdue(overdue));
            if let Overdue::Resend(resend) = overdue {
                let side = (&client.socket, &mut client.refused);
                write_segment(Role::Client, side, resend.request, report)?;
            }
        }
        if let Some(request) = client.machine.poll_send(now) {
            report.report(Said::Request(request));
            let side = (&client.socket, &mut client.refused);
            write_segment(Role::Client, side, request, report)?;
        }
        let next = client.machine.next_deadline();
        if let Some(deadline) = next
            && self.armed.is_none_or(|armed| deadline < armed)
        {
            timer.arm_once(deadline.saturating_duration_since(now))?;
            self.armed = Some(deadline);
        }
        Ok(client.machine.is_done())
    }
    // ANCHOR_END: tick

    fn read_timer(&mut self) -> Result<(), Error> {
        if let Some(timer) = &self.timer {
            // Reading makes it unreadable until it expires again.
            if timer.expirations()? > 0 {
                self.armed = None;
            }
        }
        Ok(())
    }

    // ANCHOR: server_reply
    /// Reads every queued segment on the server's socket; answers the requests.
    fn serve(&mut self) -> Result<(), Error> {
        let Some(server) = &mut self.server else {
            return Ok(());
        };
        server.wakes += 1;
        let (socket, buf) = (&server.socket, &mut self.buf);
        while let Some(bytes) =
            read_packet(Role::Server, socket, buf, &mut self.capture)?
        {
            server.reads += 1;
            let event = server.machine.on_packet(bytes);
            self.report.report(Said::Server(event));
            // A request, or one answered before and sent again (our reply was
            // lost, or slower than the client's wait): its reply, the same
            // bytes as the first time.
            if let Some(reply) = event.reply() {
                let side = (socket, &mut server.refused);
                write_segment(Role::Server, side, reply, &mut self.report)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: server_reply

    // ANCHOR: client_reply
    /// Reads every queued segment on the client's socket; reports the replies.
    fn receive(&mut self) -> Result<(), Error> {
        let Some(client) = &mut self.client else {
            return Ok(());
        };
        client.wakes += 1;
        let (socket, buf) = (&client.socket, &mut self.buf);
        while let Some(bytes) =
            read_packet(Role::Client, socket, buf, &mut self.capture)?
        {
            client.reads += 1;
            let event = client.machine.on_packet(bytes, Instant::now());
            self.report.report(Said::Client(event));
        }
        Ok(())
    }
    // ANCHOR_END: client_reply

    // ANCHOR: mirror_read
    /// Reads every queued segment on the mirror socket: for the file only.
    fn mirror(&mut self) -> Result<(), Error> {
        while self.capture.read_mirror(&mut self.buf)? {}
        Ok(())
    }
    // ANCHOR_END: mirror_read

    // ANCHOR: summary
    /// Prints the summary of `role`'s side, if there is one: what its machine
    /// counted, and the writes the kernel refused, if any.
    pub fn summarise(&mut self, role: Role) {
        let (line, ignored, refused) = match (role, &self.server, &self.client) {
            (Role::Server, Some(side), _) => {
                let machine = &side.machine;
                (machine.summary(), machine.ignored(), side.refused)
            }
            (Role::Client, _, Some(side)) => {
                let machine = &side.machine;
                (machine.summary(), machine.ignored(), side.refused)
            }
            _ => return,
        };
        let report = &mut self.report;
        report.report(Said::Line(format_args!("{role}: {line}")));
        report.report(Said::Line(format_args!("{role}: ignored {ignored}")));
        if refused > 0 {
            let line = format_args!(
                "{role}: writes refused {refused} (dropped on the way out)"
            );
            report.report(Said::Line(line));
        }
    }

    /// Closes the --pcap file and chooses the exit status: 0 after a signal
    /// or when every request was answered, as long as the file (if any) was
    /// written.
    pub fn finish(mut self, ending: Ending) -> ExitCode {
        // With --pcap: what is still held back goes to the file now.
        let recorded = match self.capture.finish() {
            Some(Ok(line)) => {
                self.report.report(Said::Line(format_args!("{line}")));
                true
            }
            Some(Err(error)) => {
                eprintln!("error: --pcap: {error}");
                false
            }
            None => true,
        };
        let answered = self.client.as_ref().is_none_or(|c| c.machine.succeeded());
        match ending {
            _ if !recorded => ExitCode::FAILURE,
            Ending::Stopped => ExitCode::SUCCESS,
            Ending::Done if answered => ExitCode::SUCCESS,
            Ending::Done => ExitCode::FAILURE,
        }
    }
    // ANCHOR_END: summary

    /// Keeps reading the sockets for `time` (at least once, without waiting), so
    /// segments already on their way are counted.
    fn linger(&mut self, time: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + time;
        let mut ready = [Event::empty(); 8];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = self.events.wait(&mut ready, Some(left))?;
            for event in &ready[..n] {
                match Token::from_data(event.data()) {
                    Some(Token::Server) => self.serve()?,
                    Some(Token::Client) => self.receive()?,
                    Some(Token::Mirror) => self.mirror()?,
                    // A signal now changes nothing: consume it.
                    Some(Token::Signals) => drop(self.signals.read()?),
                    Some(Token::Timer) => self.read_timer()?,
                    None => {}
                }
            }
            if n == 0 || left.is_zero() {
                return Ok(());
            }
        }
    }
}

// ANCHOR: write_segment
/// Writes one segment and reports it. A write the kernel refuses for this one
/// packet is a segment lost before it left, as if the wire had dropped it:
/// EPERM or EACCES (a firewall rule on output dropped it), ENOBUFS (no buffer
/// for it just now). It is counted in `refused`, and the client's resend
/// covers it. Any other failure ends the program.
fn write_segment(
    role: Role,
    (socket, refused): (&RawSocket, &mut u64),
    segment: Outgoing<'_>,
    report: &mut impl Report,
) -> Result<(), Error> {
    match send(socket, segment.segment) {
        Ok(()) => report.report(Said::Wrote(role, segment)),
        Err(error)
            if matches!(
                error.errno,
                Errno::EPERM | Errno::EACCES | Errno::ENOBUFS
            ) =>
        {
            *refused += 1;
            // Why, the first time.
            let hint = match *refused {
                1 => advice_for_call(&error.call, error.errno),
                _ => None,
            };
            report.report(Said::Refused(role, segment, &error, hint));
        }
        Err(error) => return Err(error.into()),
    }
    Ok(())
}
// ANCHOR_END: write_segment

// ANCHOR: read_packet
/// One packet from `socket`, or `None` once nothing is queued. With --pcap,
/// `capture` records it first, before anything filters it.
///
/// A pending socket error (what EPOLLERR announces) comes back from `recv` once;
/// it is reported, and reading resumes when epoll reports the socket again.
/// Of the two flags epoll reports unasked, only EPOLLERR can come here: a hard
/// ICMP error (port or host unreachable) on a connected raw socket sets the
/// socket's error. A raw socket has no peer to hang up: its EPOLLHUP comes only
/// after the program's own `shutdown(SHUT_RDWR)`, which this one never calls.
/// So the event's flags need no check of their own: this read sees it all.
pub fn read_packet<'b>(
    role: impl fmt::Display,
    socket: &RawSocket,
    buf: &'b mut [u8],
    capture: &mut Capture,
) -> Result<Option<&'b [u8]>, Error> {
    match socket.try_recv(buf) {
        Ok(Some(len)) => {
            capture.record(socket, &buf[..len])?;
            Ok(Some(&buf[..len]))
        }
        // Nothing (more) queued: back to epoll_wait.
        Ok(None) => Ok(None),
        Err(error) => {
            eprintln!("{role}: {error} (reported; reading on)");
            Ok(None)
        }
    }
}
// ANCHOR_END: read_packet
