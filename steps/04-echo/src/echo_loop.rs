//! The echo's event loop: each side's raw socket, one epoll set, a timerfd and
//! a signalfd, driving the state machines of [`crate::protocol`].
//!
//! Each side opens `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, binds it to its own
//! address and connects it to the other side's, and waits in one epoll set for
//! its socket, a timerfd (the client's pacing, resends and reply deadlines) and
//! a signalfd (SIGINT and SIGTERM, which `main` blocks as the first thing it
//! does). What a read means and what to send back is the business of the
//! machines (`Server`, `Client`); this loop only moves bytes between them and
//! the kernel, and takes a write the kernel refuses for one packet as that
//! packet lost, not as the end.
//!
//! With `--pcap`, every packet the sockets read goes to the file as well (see
//! [`crate::capture`]).
//!
//! A later step runs this same loop and adds to it through [`Hooks`], at the
//! few points where it may: step 5 attaches a filter to each socket and counts
//! how often each side wakes up. Step 4 itself runs it with [`NoHooks`].

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
use support::args::show_duration;
use support::privileges::drop_after_sudo;

use crate::capture::Capture;
use crate::protocol::text;
use crate::{
    Client, ClientConfig, ClientEvent, Outgoing, Overdue, Server, ServerOutcome,
};

/// epoll tokens: which fd an event is about.
const SIGNALS: u64 = 0;
const TIMER: u64 = 1;
const SERVER_SOCKET: u64 = 2;
const CLIENT_SOCKET: u64 = 3;
const MIRROR_SOCKET: u64 = 4;

/// How long a finished client keeps reading, so the kernel's last RSTs are
/// counted too.
const LINGER: Duration = Duration::from_millis(50);

/// Which side of the echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

impl fmt::Display for Role {
    /// `server` or `client`, as the lines the loop prints begin.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Server => "server",
            Role::Client => "client",
        })
    }
}

// ANCHOR: hooks
/// What a later step adds to the echo, at the few points where it may. Each
/// method does nothing unless a step says otherwise.
pub trait Hooks {
    /// Right after `role`'s socket is bound to `me`, connected to `peer` and
    /// announced, before epoll watches it.
    fn socket_opened(
        &mut self,
        _role: Role,
        _socket: &RawSocket,
        _me: SocketAddrV4,
        _peer: SocketAddrV4,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// After every socket is open, before the loop says what it watches.
    fn announce(&mut self) {}

    /// Each time epoll reports `role`'s socket ready: one wake-up.
    fn woke(&mut self, _role: Role) {}

    /// Each segment read from `role`'s socket.
    fn read_one(&mut self, _role: Role) {}

    /// After the loop has handled what one `epoll_wait` returned.
    fn waited(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// After `role`'s summary lines. `round_trips`: the requests the server
    /// answered, or the replies the client matched.
    fn summarise(&mut self, _role: Role, _round_trips: u64) -> Result<(), Error> {
        Ok(())
    }
}

/// Step 4's echo as it is: nothing added.
pub struct NoHooks;

impl Hooks for NoHooks {}
// ANCHOR_END: hooks

/// One side: its raw socket and its state machine.
struct Side<M> {
    socket: RawSocket,
    machine: M,
    /// Writes the kernel refused (see `write_segment`).
    refused: u64,
}

/// Everything the loop waits on, the sides it drives, and what a later step
/// adds to it.
pub struct Echo<H: Hooks> {
    events: EventSet,
    signals: Signals,
    /// Only a client needs a clock.
    timer: Option<Timer>,
    server: Option<Side<Server>>,
    client: Option<Side<Client>>,
    /// With --pcap, for a side alone: reads what it sends (see `open_mirror`).
    mirror: Option<RawSocket>,
    /// Where --pcap records every read, or nothing.
    capture: Capture,
    verbose: bool,
    /// One read's worth: the largest IPv4 packet.
    buf: Vec<u8>,
    hooks: H,
}

/// Why the loop ended.
enum Ending {
    /// The client did all it was asked to.
    Done,
    /// SIGINT or SIGTERM.
    Stopped,
}

// ANCHOR: open_socket
/// A raw TCP socket that reads only what `peer`'s address sends to `me`'s, and
/// writes to `peer`. The kernel's filters ignore ports: the machines check them.
fn open_socket(
    role: &str,
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

// ANCHOR: mirror
/// For --pcap, a side alone whose peer has another address: its own socket
/// reads only what comes from the peer, never what it sends. This one, bound to
/// the peer's address and connected to ours, reads exactly what goes from us to
/// the peer: our segments as `lo` carried them, IPv4 header and all, and the
/// kernel's RSTs from our address. Its reads go to the file only.
fn open_mirror(me: SocketAddrV4, peer: SocketAddrV4) -> Result<RawSocket, SysError> {
    // The mirror image of the side's own socket: local and peer swapped.
    let socket = open_nonblocking(peer, me)?;
    println!(
        "pcap: a mirror socket, bound to {}, connected to {}: reads what this \
         side sends, for the file",
        peer.ip(),
        me.ip()
    );
    Ok(socket)
}

/// The two ends of the one side that needs a mirror socket, if one does: a
/// side alone (the demo's two sockets read both directions already) whose
/// peer has another address (one address on both ends: the side's socket
/// reads its own segments too).
fn needs_mirror(
    server: &Option<(SocketAddrV4, SocketAddrV4)>,
    client: &Option<(SocketAddrV4, SocketAddrV4, ClientConfig)>,
) -> Option<(SocketAddrV4, SocketAddrV4)> {
    let (me, peer) = match (server, client) {
        (Some((me, peer)), None) | (None, Some((me, peer, _))) => (*me, *peer),
        _ => return None,
    };
    (me.ip() != peer.ip()).then_some((me, peer))
}
// ANCHOR_END: mirror

impl<H: Hooks> Echo<H> {
    // ANCHOR: setup
    /// Sets up one epoll set with the signalfd `main` opened first, and each
    /// side that is asked for.
    pub fn new(
        signals: Signals,
        server: Option<(SocketAddrV4, SocketAddrV4)>,
        client: Option<(SocketAddrV4, SocketAddrV4, ClientConfig)>,
        verbose: bool,
        capture: Capture,
        mut hooks: H,
    ) -> Result<Echo<H>, Error> {
        // The signalfd first: a signal that came during setup is already
        // waiting in it, and the loop's first wait reports it.
        let events = EventSet::new()?;
        events.add(&signals, SIGNALS, Flags::EPOLLIN)?;
        let mut watched = vec!["a signalfd (SIGINT, SIGTERM)"];
        let mirror_ends = needs_mirror(&server, &client);

        let server = match server {
            Some((me, peer)) => {
                let socket = open_socket("server", me, peer)?;
                hooks.socket_opened(Role::Server, &socket, me, peer)?;
                // With --pcap: each packet stamped with its arrival time.
                capture.watch(&socket)?;
                events.add(&socket, SERVER_SOCKET, Flags::EPOLLIN)?;
                watched.push("the server's socket");
                let machine = Server::new(me, peer);
                Some(Side {
                    socket,
                    machine,
                    refused: 0,
                })
            }
            None => None,
        };
        let (client, timer) = match client {
            Some((me, peer, config)) => {
                let socket = open_socket("client", me, peer)?;
                hooks.socket_opened(Role::Client, &socket, me, peer)?;
                capture.watch(&socket)?;
                events.add(&socket, CLIENT_SOCKET, Flags::EPOLLIN)?;
                let timer = Timer::new()?;
                events.add(&timer, TIMER, Flags::EPOLLIN)?;
                watched.push("the client's socket");
                watched.push("a timerfd");
                let machine = Client::new(me, peer, config, Instant::now());
                let side = Side {
                    socket,
                    machine,
                    refused: 0,
                };
                (Some(side), Some(timer))
            }
            None => (None, None),
        };
        let mirror = match mirror_ends {
            Some((me, peer)) if capture.is_on() => {
                let socket = open_mirror(me, peer)?;
                capture.watch(&socket)?;
                events.add(&socket, MIRROR_SOCKET, Flags::EPOLLIN)?;
                watched.push("the mirror socket");
                Some(socket)
            }
            _ => None,
        };
        // Every socket is open (and the --pcap file): give root up.
        if let Some(dropped) = drop_after_sudo()? {
            println!("{dropped}");
        }
        hooks.announce();
        println!("epoll: one set watching {}", watched.join(", "));
        let echo = Echo {
            events,
            signals,
            timer,
            server,
            client,
            mirror,
            capture,
            verbose,
            buf: vec![0; MAX_PACKET],
            hooks,
        };
        echo.announce();
        Ok(echo)
    }
    // ANCHOR_END: setup

    /// Says who talks to whom, and until when.
    fn announce(&self) {
        let until = if self.client.is_some() {
            "until the client is done"
        } else {
            "until Ctrl+C"
        };
        if let Some(Side { machine, .. }) = &self.server {
            println!(
                "server: answering {} at {}, {until}",
                machine.peer(),
                machine.me()
            );
        }
        if let Some(Side { machine, .. }) = &self.client {
            let config = machine.config();
            let count = match config.count {
                Some(n) => format!("{n} requests"),
                None => "requests until Ctrl+C".to_owned(),
            };
            let pace = if config.ping_pong() {
                "each once the one before is settled".to_owned()
            } else {
                format!("one every {}", show_duration(config.interval))
            };
            let mut waits =
                format!("each reply awaited {}", show_duration(config.timeout));
            if config.tries > 1 {
                waits.push_str(&format!(
                    ", then resent with the wait doubled, {} tries in all \
                     (lost after {})",
                    config.tries,
                    show_duration(config.give_up_after())
                ));
            }
            println!(
                "client: asking {} from {}: {count}, {pace}, {waits}",
                machine.peer(),
                machine.me(),
            );
        }
    }

    // ANCHOR: event_loop
    /// Waits, reacts, repeats: until the client is done or a signal arrives.
    pub fn run(mut self) -> Result<ExitCode, Error> {
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
                match event.data() {
                    SIGNALS => signal = signal.or(self.signals.read()?),
                    TIMER => self.read_timer()?,
                    SERVER_SOCKET => self.serve()?,
                    CLIENT_SOCKET => self.receive()?,
                    MIRROR_SOCKET => self.mirror()?,
                    _ => {}
                }
            }
            self.hooks.waited()?;
            if let Some(signal) = signal {
                println!("signal: {signal} received, stopping");
                break Ending::Stopped;
            }
        };
        self.finish(ending)
    }
    // ANCHOR_END: event_loop

    // ANCHOR: tick
    /// The client's clock: resends the requests whose wait is over (or reports
    /// them lost after their last try), sends the request that is due, and
    /// sets the timer for whatever comes next. True once it is done.
    fn tick(&mut self) -> Result<bool, Error> {
        let (Some(client), Some(timer)) = (&mut self.client, &self.timer) else {
            return Ok(false);
        };
        let now = Instant::now();
        for overdue in client.machine.on_timeout(now) {
            match overdue {
                Overdue::Resend(resend) => {
                    println!("client: {resend}");
                    let (socket, refused) = (&client.socket, &mut client.refused);
                    write_segment("client", socket, refused, &resend.request)?;
                }
                Overdue::Lost(lost) => println!("client: {lost}"),
            }
        }
        if let Some(request) = client.machine.poll_send(now) {
            println!("client: request {}", request.number);
            let (socket, refused) = (&client.socket, &mut client.refused);
            write_segment("client", socket, refused, &request)?;
        }
        match client.machine.next_deadline() {
            Some(deadline) => {
                timer.arm_once(deadline.saturating_duration_since(now))?
            }
            None => timer.disarm()?,
        }
        Ok(client.machine.is_done())
    }
    // ANCHOR_END: tick

    fn read_timer(&self) -> Result<(), Error> {
        if let Some(timer) = &self.timer {
            // Reading makes it unreadable until it expires again.
            timer.expirations()?;
        }
        Ok(())
    }

    // ANCHOR: server_reply
    /// Reads every queued segment on the server's socket; answers the requests.
    fn serve(&mut self) -> Result<(), Error> {
        let Some(server) = &mut self.server else {
            return Ok(());
        };
        self.hooks.woke(Role::Server);
        let (socket, buf) = (&server.socket, &mut self.buf);
        while let Some(bytes) =
            read_packet("server", socket, buf, &mut self.capture)?
        {
            self.hooks.read_one(Role::Server);
            match server.machine.on_packet(bytes) {
                ServerOutcome::Request {
                    summary,
                    payload,
                    reply,
                } => {
                    println!("server: Received : {}", text(&payload));
                    println!("server:   read   {summary}");
                    write_segment("server", socket, &mut server.refused, &reply)?;
                }
                // Our reply was lost, or slower than the client's wait: the
                // client sent the request again. The same reply again, not a
                // new one.
                ServerOutcome::Resent { summary, reply } => {
                    println!(
                        "server: Received again: request {} resent",
                        reply.number
                    );
                    println!("server:   read   {summary}");
                    write_segment("server", socket, &mut server.refused, &reply)?;
                }
                ServerOutcome::Ignored { reason, summary } => {
                    if self.verbose {
                        print_ignored("server", &reason.to_string(), summary);
                    }
                }
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
        self.hooks.woke(Role::Client);
        let (socket, buf) = (&client.socket, &mut self.buf);
        while let Some(bytes) =
            read_packet("client", socket, buf, &mut self.capture)?
        {
            self.hooks.read_one(Role::Client);
            match client.machine.on_packet(bytes, Instant::now()) {
                ClientEvent::Reply {
                    number,
                    summary,
                    payload,
                } => {
                    println!("client: Received : {}", text(&payload));
                    println!(
                        "client:   read   {summary}  (answers request {number})"
                    );
                }
                ClientEvent::Ignored { reason, summary } => {
                    if self.verbose {
                        print_ignored("client", &reason.to_string(), summary);
                    }
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: client_reply

    // ANCHOR: mirror_read
    /// Reads every queued segment on the mirror socket: for the file only.
    fn mirror(&mut self) -> Result<(), Error> {
        let Some(socket) = &self.mirror else {
            return Ok(());
        };
        while read_packet("mirror", socket, &mut self.buf, &mut self.capture)?
            .is_some()
        {}
        Ok(())
    }
    // ANCHOR_END: mirror_read

    // ANCHOR: summary
    /// Reads what is still on its way, prints each side's summary, closes the
    /// --pcap file, and chooses the exit status: 0 after a signal or when every
    /// request was answered, as long as the file (if any) was written.
    fn finish(mut self, ending: Ending) -> Result<ExitCode, Error> {
        if let Some(timer) = &self.timer {
            timer.disarm()?;
        }
        let linger = match ending {
            Ending::Done => LINGER,
            Ending::Stopped => Duration::ZERO,
        };
        self.linger(linger)?;
        if let Some(Side {
            machine, refused, ..
        }) = &self.client
        {
            println!("client: {}", machine.summary());
            println!("client: ignored {}", machine.ignored());
            print_refused("client", *refused);
            self.hooks.summarise(Role::Client, machine.answered())?;
        }
        if let Some(Side {
            machine, refused, ..
        }) = &self.server
        {
            println!("server: {}", machine.summary());
            println!("server: ignored {}", machine.ignored());
            print_refused("server", *refused);
            self.hooks.summarise(Role::Server, machine.requests())?;
        }
        // With --pcap: what is still held back goes to the file now.
        let recorded = match self.capture.finish() {
            Some(Ok(line)) => {
                println!("{line}");
                true
            }
            Some(Err(error)) => {
                eprintln!("error: --pcap: {error}");
                false
            }
            None => true,
        };
        let answered = self.client.as_ref().is_none_or(|c| c.machine.succeeded());
        Ok(match ending {
            _ if !recorded => ExitCode::FAILURE,
            Ending::Stopped => ExitCode::SUCCESS,
            Ending::Done if answered => ExitCode::SUCCESS,
            Ending::Done => ExitCode::FAILURE,
        })
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
            let mut read = false;
            for event in &ready[..n] {
                match event.data() {
                    SERVER_SOCKET => self.serve()?,
                    CLIENT_SOCKET => self.receive()?,
                    MIRROR_SOCKET => self.mirror()?,
                    // A signal now changes nothing: consume it.
                    SIGNALS => drop(self.signals.read()?),
                    TIMER => self.read_timer()?,
                    _ => {}
                }
                read = true;
            }
            if !read || left.is_zero() {
                return Ok(());
            }
        }
    }
}

// ANCHOR: write_segment
/// Writes one segment and says so. A write the kernel refuses for this one
/// packet is a segment lost before it left, as if the wire had dropped it:
/// EPERM or EACCES (a firewall rule on output dropped it), ENOBUFS (no buffer
/// for it just now). It is counted in `refused`, and the client's resend
/// covers it. Any other failure ends the program.
fn write_segment(
    role: &str,
    socket: &RawSocket,
    refused: &mut u64,
    segment: &Outgoing,
) -> Result<(), Error> {
    match send(socket, &segment.segment) {
        Ok(()) => println!("{role}:   wrote  {}", segment.summary),
        Err(error)
            if matches!(
                error.errno,
                Errno::EPERM | Errno::EACCES | Errno::ENOBUFS
            ) =>
        {
            *refused += 1;
            println!("{role}:   NOT SENT {}: {error}", segment.summary);
            // Why, the first time.
            if *refused == 1
                && let Some(hint) = advice_for_call(&error.call, error.errno)
            {
                println!("{role}:   {hint}");
            }
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
    role: &str,
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

/// How many writes the kernel refused, if any did.
fn print_refused(role: &str, refused: u64) {
    if refused > 0 {
        println!("{role}: writes refused {refused} (dropped on the way out)");
    }
}

fn print_ignored(role: &str, reason: &str, summary: Option<String>) {
    match summary {
        Some(summary) => println!("{role}: ignored {reason}  {summary}"),
        None => println!("{role}: ignored {reason}"),
    }
}
