//! Step 5: step 4's echo, with a classic BPF filter on each raw socket.
//!
//! The demo runs both sides in one process, in a private network namespace,
//! exactly as step 4's demo does: the same `Server` and `Client` machines, the
//! same epoll loop. One thing changes: right after `bind()` and `connect()`,
//! each side's socket gets `echo_filter(me, peer)`. From then on the kernel
//! queues only the peer's segments; the RST it answers each of our segments
//! with is dropped before it can wake anybody up.
//!
//! To show what the filter kept away, each side also opens a witness: a
//! second raw socket, bound and connected alike, without a filter. It is not
//! in the epoll set; the demo reads it only to count what it got.
//!
//! `bench` measures what the filter is worth in time: step 4's harness, run
//! with and without the filter, next to the kernel's TCP.

use std::net::SocketAddrV4;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use step_01_socket::netns::enter_private_namespace;
use step_01_socket::privileges::drop_after_sudo;
use step_01_socket::{Family, MAX_PACKET, RawSocket, RecvError, SysError};
use step_02_bind_connect::{CLIENT, SERVER, bind, connect, send};
use step_03_epoll::{Event, EventSet, Flags, Signals, Timer, describe};
use step_04_echo::advice::advice;
use step_04_echo::args::show_duration;
use step_04_echo::bench::{BenchOptions, let_signals_through, run as run_bench};
use step_04_echo::protocol::text;
use step_04_echo::{
    Client, ClientConfig, ClientEvent, Overdue, Server, ServerOutcome, UsageError,
};
use step_05_bpf_filter::args::{self, Command, SYNOPSIS, USAGE};
use step_05_bpf_filter::bench::{RATIOS, VARIANTS};
use step_05_bpf_filter::{
    Tally, Wakes, annotate, attach, drain_queued, echo_filter, lock_filter,
};

/// epoll tokens: which fd an event is about.
const SIGNALS: u64 = 0;
const TIMER: u64 = 1;
const SERVER_SOCKET: u64 = 2;
const CLIENT_SOCKET: u64 = 3;

/// How long a finished client keeps reading, so that whatever is still on its
/// way is counted too.
const LINGER: Duration = Duration::from_millis(50);

fn parse_command_line() -> Result<Command, UsageError> {
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let args = std::env::args_os().skip(1);
    args::parse(args.map(|arg| arg.to_string_lossy().into_owned()))
}

fn main() -> ExitCode {
    // The very first thing, as in step 4: SIGINT and SIGTERM blocked, and a
    // signalfd for them. A signal at any moment from here on waits in the fd
    // until the loop reads it, and the demo stops with its summary.
    let signals = match Signals::new(&[Signal::SIGINT, Signal::SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    step_01_socket::exit_quietly_on_broken_pipe();
    let command = match parse_command_line() {
        Ok(command) => command,
        Err(error) => {
            eprintln!("error: {error}\n\n{SYNOPSIS}");
            return ExitCode::from(2);
        }
    };
    // ANCHOR: commands
    let result = match command {
        Command::Help => {
            println!("{SYNOPSIS}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Bench(options) => return bench(signals, &options),
        Command::Demo { client, verbose } => {
            // First thing, while the process has one thread: a network of our
            // own, even as root. The demo never touches the host's network.
            match enter_private_namespace() {
                Ok(namespace) => println!("{namespace}"),
                Err(error) => {
                    eprint!("error: {error}");
                    return ExitCode::FAILURE;
                }
            }
            Demo::new(signals, client, verbose).and_then(Demo::run)
        }
    };
    // ANCHOR_END: commands
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            if let Some(hint) = advice(&error) {
                eprintln!("{hint}");
            }
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: bench
/// `bench`: step 4's raw echo, the same with the filter, and the kernel's
/// TCP, in a private network namespace (see `bench.rs` in step 4's library).
fn bench(signals: Signals, options: &BenchOptions) -> ExitCode {
    // Nothing to summarise at the end: Ctrl+C may simply stop it.
    drop(signals);
    if let Err(error) = let_signals_through() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    // First thing after that, with one thread: a network of our own.
    match enter_private_namespace() {
        // With --json, stdout carries the JSON alone.
        Ok(namespace) if options.json => eprintln!("{namespace}"),
        Ok(namespace) => println!("{namespace}"),
        Err(error) => {
            eprint!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    match run_bench(options, &VARIANTS, &RATIOS) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: bench

// ANCHOR: open_filtered
/// A raw TCP socket that reads only what `peer` sends to `me`: by address, as
/// in step 4 (`bind`, `connect`), and now also by port and flags, in the
/// kernel.
fn open_filtered(
    role: &str,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<RawSocket, SysError> {
    let socket = RawSocket::open(Family::AfInet)?;
    bind(&socket, me)?;
    connect(&socket, peer)?;
    socket.set_nonblocking()?;
    println!(
        "{role}: socket(AF_INET, SOCK_RAW, IPPROTO_TCP), \
         bound to {}, connected to {}",
        me.ip(),
        peer.ip()
    );
    // From here on the kernel runs the program on every segment for this
    // socket before it queues it: what it rejects never wakes us up.
    let program = echo_filter(me, peer);
    attach(&socket, &program)?;
    // Nothing, not even a bug of ours, can swap or remove it now.
    lock_filter(&socket)?;
    // What arrived between socket() and attach() was queued unfiltered.
    let stale = drain_queued(&socket)?;
    println!(
        "{role}: filter attached and locked, {} instructions; \
         {stale} segments queued before it, drained",
        program.len()
    );
    Ok(socket)
}
// ANCHOR_END: open_filtered

// ANCHOR: witness
/// The same socket without the filter: it reads everything `bind()` and
/// `connect()` let through, which is what the filtered socket would have read.
/// The demo only counts what it reads.
struct Witness {
    socket: RawSocket,
    tally: Tally,
}

impl Witness {
    fn open(me: SocketAddrV4, peer: SocketAddrV4) -> Result<Witness, SysError> {
        let socket = RawSocket::open(Family::AfInet)?;
        bind(&socket, me)?;
        connect(&socket, peer)?;
        socket.set_nonblocking()?;
        Ok(Witness {
            socket,
            tally: Tally::default(),
        })
    }

    /// Reads and sorts whatever is queued, so that its buffer never fills.
    fn count(
        &mut self,
        me: SocketAddrV4,
        peer: SocketAddrV4,
        buf: &mut [u8],
    ) -> Result<(), SysError> {
        while let Some(bytes) = read_packet("witness", &self.socket, buf)? {
            self.tally.add(bytes, me, peer);
        }
        Ok(())
    }
}
// ANCHOR_END: witness

/// One side: its filtered socket, its witness, its state machine, and how
/// often its socket woke the loop up.
struct Side<M> {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    socket: RawSocket,
    witness: Witness,
    machine: M,
    wakes: Wakes,
}

impl<M> Side<M> {
    fn open(
        role: &str,
        me: SocketAddrV4,
        peer: SocketAddrV4,
        machine: M,
    ) -> Result<Side<M>, SysError> {
        Ok(Side {
            me,
            peer,
            socket: open_filtered(role, me, peer)?,
            witness: Witness::open(me, peer)?,
            machine,
            wakes: Wakes::default(),
        })
    }

    /// The witness's counts, and what the filter kept from the socket.
    fn report_witness(
        &mut self,
        role: &str,
        buf: &mut [u8],
    ) -> Result<(), SysError> {
        self.witness.count(self.me, self.peer, buf)?;
        let seen = &self.witness.tally;
        println!(
            "{role}: its witness, without the filter, read {}: {seen}",
            seen.total()
        );
        let kept = seen.total().saturating_sub(self.wakes.reads);
        println!(
            "{role}: the filter kept {kept} segments in the kernel, \
             {kept} reads this side never made"
        );
        Ok(())
    }
}

/// Everything the loop waits on, and the two sides it drives.
struct Demo {
    events: EventSet,
    signals: Signals,
    timer: Timer,
    server: Side<Server>,
    client: Side<Client>,
    verbose: bool,
    /// One read's worth: the largest IPv4 packet.
    buf: Vec<u8>,
}

/// Why the loop ended.
enum Ending {
    /// The client did all it was asked to.
    Done,
    /// SIGINT or SIGTERM.
    Stopped,
}

impl Demo {
    // ANCHOR: setup
    /// Opens both sides, shows the program, and puts the signalfd `main`
    /// opened first, both filtered sockets and the client's timer in one
    /// epoll set.
    fn new(
        signals: Signals,
        config: ClientConfig,
        verbose: bool,
    ) -> Result<Demo, SysError> {
        let events = EventSet::new()?;
        events.add(&signals, SIGNALS, Flags::EPOLLIN)?;
        let server =
            Side::open("server", SERVER, CLIENT, Server::new(SERVER, CLIENT))?;
        events.add(&server.socket, SERVER_SOCKET, Flags::EPOLLIN)?;
        let client_machine = Client::new(CLIENT, SERVER, config, Instant::now());
        let client = Side::open("client", CLIENT, SERVER, client_machine)?;
        events.add(&client.socket, CLIENT_SOCKET, Flags::EPOLLIN)?;
        let timer = Timer::new()?;
        events.add(&timer, TIMER, Flags::EPOLLIN)?;
        // Every socket is open and its filter locked: give root up.
        if let Some(dropped) = drop_after_sudo()? {
            println!("{dropped}");
        }
        println!(
            "witness: one more raw socket per side, bound and connected alike, \
             no filter, not in the epoll set: it counts what the filter keeps away"
        );
        println!(
            "the server's filter (the client's swaps the addresses and ports):"
        );
        print!("{}", annotate(&echo_filter(SERVER, CLIENT)));
        println!(
            "epoll: one set watching a signalfd (SIGINT, SIGTERM), the server's \
             socket, the client's socket, a timerfd"
        );
        println!("server: answering {CLIENT} at {SERVER}, until the client is done");
        println!("client: asking {SERVER} from {CLIENT}: {}", pace(&config));
        Ok(Demo {
            events,
            signals,
            timer,
            server,
            client,
            verbose,
            buf: vec![0; MAX_PACKET],
        })
    }
    // ANCHOR_END: setup

    // ANCHOR: event_loop
    /// Waits, reacts, repeats: until the client is done or a signal arrives.
    /// Each socket event is one wake-up of that side.
    fn run(mut self) -> Result<ExitCode, SysError> {
        let mut ready = [Event::empty(); 8];
        let ending = loop {
            if self.tick()? {
                break Ending::Done;
            }
            let n = self.events.wait(&mut ready, None)?;
            let mut signal = None;
            for event in &ready[..n] {
                match event.data() {
                    SIGNALS => signal = signal.or(self.signals.read()?),
                    TIMER => drop(self.timer.expirations()?),
                    SERVER_SOCKET => self.serve(event.events())?,
                    CLIENT_SOCKET => self.receive(event.events())?,
                    _ => {}
                }
            }
            self.count_witnesses()?;
            if let Some(signal) = signal {
                println!("signal: {signal} received, stopping");
                break Ending::Stopped;
            }
        };
        self.finish(ending)
    }
    // ANCHOR_END: event_loop

    /// The client's clock, as in step 4: reports overdue replies, sends the
    /// request that is due, and sets the timer for what comes next. True once
    /// the client is done.
    fn tick(&mut self) -> Result<bool, SysError> {
        let client = &mut self.client;
        let now = Instant::now();
        for overdue in client.machine.on_timeout(now) {
            match overdue {
                Overdue::Resend(resend) => {
                    println!("client: {resend}");
                    send(&client.socket, &resend.request.segment)?;
                    println!("client:   wrote  {}", resend.request.summary);
                }
                Overdue::Lost(lost) => println!("client: {lost}"),
            }
        }
        if let Some(request) = client.machine.poll_send(now) {
            println!("client: request {}", request.number);
            send(&client.socket, &request.segment)?;
            println!("client:   wrote  {}", request.summary);
        }
        match client.machine.next_deadline() {
            Some(deadline) => self
                .timer
                .arm_once(deadline.saturating_duration_since(now))?,
            None => self.timer.disarm()?,
        }
        Ok(client.machine.is_done())
    }

    // ANCHOR: serve
    /// One wake-up of the server: reads every queued segment and answers it.
    /// With the filter, each one is a request: nothing else gets queued.
    fn serve(&mut self, flags: Flags) -> Result<(), SysError> {
        check_hangup("server", flags)?;
        let server = &mut self.server;
        server.wakes.wakes += 1;
        while let Some(bytes) = read_packet("server", &server.socket, &mut self.buf)?
        {
            server.wakes.reads += 1;
            match server.machine.on_packet(bytes) {
                ServerOutcome::Request {
                    summary,
                    payload,
                    reply,
                } => {
                    println!("server: Received : {}", text(&payload));
                    println!("server:   read   {summary}");
                    send(&server.socket, &reply.segment)?;
                    println!("server:   wrote  {}", reply.summary);
                }
                // The client sent a request again: the same reply again.
                ServerOutcome::Resent { summary, reply } => {
                    println!(
                        "server: Received again: request {} resent",
                        reply.number
                    );
                    println!("server:   read   {summary}");
                    send(&server.socket, &reply.segment)?;
                    println!("server:   wrote  {}", reply.summary);
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
    // ANCHOR_END: serve

    /// One wake-up of the client: reads every queued segment, reports replies.
    fn receive(&mut self, flags: Flags) -> Result<(), SysError> {
        check_hangup("client", flags)?;
        let client = &mut self.client;
        client.wakes.wakes += 1;
        while let Some(bytes) = read_packet("client", &client.socket, &mut self.buf)?
        {
            client.wakes.reads += 1;
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

    /// Empties both witnesses' queues into their counts.
    fn count_witnesses(&mut self) -> Result<(), SysError> {
        let buf = &mut self.buf;
        let (server, client) = (&mut self.server, &mut self.client);
        server.witness.count(server.me, server.peer, buf)?;
        client.witness.count(client.me, client.peer, buf)
    }

    // ANCHOR: summary
    /// Reads what is still on its way, then prints each side's summary: what
    /// its machine made of its reads, how often it woke up per round trip, and
    /// what its witness read without the filter. Exit status as in step 4.
    fn finish(mut self, ending: Ending) -> Result<ExitCode, SysError> {
        self.timer.disarm()?;
        if let Ending::Done = ending {
            self.linger(LINGER)?;
        }
        let buf = &mut self.buf;
        let client = &mut self.client;
        println!("client: {}", client.machine.summary());
        println!("client: ignored {}", client.machine.ignored());
        println!("client: {}", client.wakes.report(client.machine.answered()));
        client.report_witness("client", buf)?;
        let server = &mut self.server;
        println!("server: {}", server.machine.summary());
        println!("server: ignored {}", server.machine.ignored());
        println!("server: {}", server.wakes.report(server.machine.requests()));
        server.report_witness("server", buf)?;
        Ok(match ending {
            Ending::Stopped => ExitCode::SUCCESS,
            Ending::Done if self.client.machine.succeeded() => ExitCode::SUCCESS,
            Ending::Done => ExitCode::FAILURE,
        })
    }
    // ANCHOR_END: summary

    /// Keeps serving both sockets for `time`, so that segments already on
    /// their way are read and counted.
    fn linger(&mut self, time: Duration) -> Result<(), SysError> {
        let deadline = Instant::now() + time;
        let mut ready = [Event::empty(); 8];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = self.events.wait(&mut ready, Some(left))?;
            for event in &ready[..n] {
                match event.data() {
                    SERVER_SOCKET => self.serve(event.events())?,
                    CLIENT_SOCKET => self.receive(event.events())?,
                    // A signal now changes nothing: consume it.
                    SIGNALS => drop(self.signals.read()?),
                    TIMER => drop(self.timer.expirations()?),
                    _ => {}
                }
            }
            if n == 0 || left.is_zero() {
                return Ok(());
            }
        }
    }
}

/// EPOLLHUP on a raw socket means it can no longer be used.
fn check_hangup(role: &str, flags: Flags) -> Result<(), SysError> {
    if flags.contains(Flags::EPOLLHUP) {
        return Err(SysError::new(
            format!(
                "epoll_wait: the {role}'s socket reported {}",
                describe(flags)
            ),
            Errno::EPIPE,
        ));
    }
    Ok(())
}

/// One packet from `socket`, or `None` once nothing is queued. A pending
/// socket error comes back from `recv` once; it is reported, and reading
/// resumes when epoll reports the socket again.
fn read_packet<'b>(
    role: &str,
    socket: &RawSocket,
    buf: &'b mut [u8],
) -> Result<Option<&'b [u8]>, SysError> {
    match socket.recv(buf) {
        Ok(len) => Ok(Some(&buf[..len])),
        Err(RecvError::Sys(e)) if e.errno == Errno::EAGAIN => Ok(None),
        Err(error) => {
            eprintln!("{role}: {error} (reported; reading on)");
            Ok(None)
        }
    }
}

/// `5 requests, one every 100ms, each reply awaited 1s, then resent ...`
fn pace(config: &ClientConfig) -> String {
    let count = match config.count {
        Some(n) => format!("{n} requests"),
        None => "requests until Ctrl+C".to_owned(),
    };
    let pace = if config.ping_pong() {
        "each once the one before is settled".to_owned()
    } else {
        format!("one every {}", show_duration(config.interval))
    };
    let mut line = format!(
        "{count}, {pace}, each reply awaited {}",
        show_duration(config.timeout)
    );
    if config.tries > 1 {
        line.push_str(&format!(
            ", then resent with the wait doubled, {} tries in all (lost after {})",
            config.tries,
            show_duration(config.give_up_after())
        ));
    }
    line
}

fn print_ignored(role: &str, reason: &str, summary: Option<String>) {
    match summary {
        Some(summary) => println!("{role}: ignored {reason}  {summary}"),
        None => println!("{role}: ignored {reason}"),
    }
}
