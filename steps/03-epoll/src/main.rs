//! Step 3: one `epoll_wait` over a raw socket, a timer and the signals.
//!
//! Inside a private network namespace the program registers four fds in one
//! epoll set and prints what wakes it:
//! - the *socket*: a raw TCP socket bound to 127.0.0.1 and connected to
//!   127.0.0.2, readable when a segment from 127.0.0.2 arrives;
//! - the *sender*: a second raw socket (bound to 127.0.0.2, connected to
//!   127.0.0.1) that sends one hand-built segment per timer tick, from
//!   127.0.0.2:50001 to 127.0.0.1:50000, and reads the kernel's RST back;
//! - the *timer*: a timerfd that ticks every 100 ms;
//! - the *signals*: a signalfd, so SIGINT and SIGTERM are events, not deaths.
//!
//! Every wait's events are handled, all of them, not only the first.
//!
//! With `--pcap FILE`, every packet the two raw sockets read goes to FILE as
//! pcap as well, in the order the packets arrived, for Wireshark or tshark.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddrV4;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use step_01_socket::{
    ChecksumCheck, MAX_PACKET, RawSocket, SeqNumber, parse_received, segment_summary,
};
use step_02_bind_connect::{
    CLIENT, REQUEST, SERVER, Verdict, classify, data_segment, send,
};
use step_03_epoll::{
    Event, EventSet, Flags, Signals, Timer, describe, open_nonblocking,
};
use support::pcap::{PcapWriter, arrival_time, enable_arrival_times};
use support::privileges::drop_after_sudo;
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, usage_error,
};

const USAGE: &str = "\
usage: step-03-epoll [--ticks N] [--pcap FILE]

In a private network namespace, waits with one epoll set on a raw TCP socket
(bound to 127.0.0.1, connected to 127.0.0.2), a timerfd and a signalfd for
SIGINT and SIGTERM. On every timer tick (100 ms) a second raw socket sends one
segment from 127.0.0.2:50001 to 127.0.0.1:50000; the program prints every event
each epoll_wait returns and every packet it reads. Ctrl-C stops it.

options:
  --ticks N    segments to send and read before stopping (default 5)
  --pcap FILE  also write every packet the two raw sockets receive (the
               segments, the kernel's RSTs) to FILE as pcap with link type
               101 (LINKTYPE_RAW: IPv4 header first), in the order they
               arrived, for Wireshark or `tshark -r FILE`; FILE is created
               before anything is sent (exit status 1 if it cannot be)
  -h, --help   this text";

/// How often the timer ticks.
const TICK: Duration = Duration::from_millis(100);
/// Ticks to wait for the last segment before giving up on it.
const GRACE_TICKS: u32 = 10;
/// The sequence number of the first byte we send.
const ISN: SeqNumber = SeqNumber(1);

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// What the command line asks for.
struct Args {
    ticks: u32,
    pcap: Option<PathBuf>,
}

fn parse_args() -> std::result::Result<Args, String> {
    let mut ticks = 5;
    let mut pcap = None;
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let mut args = std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--ticks" => {
                let value = args.next().ok_or("--ticks needs a value")?;
                ticks =
                    value.parse().ok().filter(|n| *n > 0).ok_or(format!(
                        "--ticks: {value:?} is not a positive number"
                    ))?;
            }
            "--pcap" => {
                let value = args.next().ok_or("--pcap needs a file name")?;
                pcap = Some(PathBuf::from(value));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Args { ticks, pcap })
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let Args { ticks, pcap } = match parse_args() {
        Ok(args) => args,
        Err(message) => return usage_error(message, USAGE),
    };
    // The capture file first: a path that cannot be written fails now,
    // before anything is sent.
    let recording = match pcap.map(PcapWriter::create).transpose() {
        Ok(file) => file.map(Recording::new),
        Err(error) => return fail(format_args!("--pcap: {error}")),
    };
    // First thing, while the process has one thread: a network of our own.
    if let Err(exit) = enter_private_network() {
        return exit;
    }
    match run(ticks, recording) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

// ANCHOR: tokens
/// What each registration stands for. epoll hands back, with every event, the
/// 64-bit token given at EPOLL_CTL_ADD: that is how the loop knows who woke it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Socket = 1,
    Sender = 2,
    Timer = 3,
    Signals = 4,
}

impl Token {
    const ALL: [Token; 4] =
        [Token::Socket, Token::Sender, Token::Timer, Token::Signals];

    fn from_data(data: u64) -> Option<Token> {
        Token::ALL.into_iter().find(|token| *token as u64 == data)
    }

    fn name(self) -> &'static str {
        match self {
            Token::Socket => "socket",
            Token::Sender => "sender",
            Token::Timer => "timer",
            Token::Signals => "signals",
        }
    }
}
// ANCHOR_END: tokens

/// Everything the loop watches, and how far the demo has got.
struct Demo {
    epoll: EventSet,
    /// Bound to 127.0.0.1, connected to 127.0.0.2: the fd we wait on.
    socket: RawSocket,
    /// Bound to 127.0.0.2, connected to 127.0.0.1: sends on the timer's beat.
    sender: RawSocket,
    timer: Timer,
    signals: Signals,
    /// Segments to send and read before stopping.
    ticks: u32,
    /// Timer ticks so far.
    tick: u32,
    sent: u32,
    received: u32,
    /// Whether a segment waits for the sender to become writable.
    pending: bool,
    buf: Vec<u8>,
    /// What `--pcap` records, if it was given.
    recording: Option<Recording>,
}

/// Why the loop ended.
enum Stop {
    Done,
    Signal(Signal),
}

fn run(ticks: u32, recording: Option<Recording>) -> Result<()> {
    let mut demo = Demo::open(ticks, recording)?;
    // Every fd is open, and the loop needs no privilege: give root up.
    if let Some(dropped) = drop_after_sudo()? {
        println!("{dropped}");
    }
    demo.show_timeout()?;
    let stop = demo.run_loop()?;
    match stop {
        Stop::Done => println!("\n{ticks} segment(s) sent and read: stopping"),
        Stop::Signal(signal) => {
            println!("\n{signal} came through the signalfd: stopping")
        }
    }
    demo.close()
}

impl Demo {
    // ANCHOR: setup
    /// Opens the four fds and registers each for EPOLLIN.
    fn open(ticks: u32, recording: Option<Recording>) -> Result<Demo> {
        // Block SIGINT and SIGTERM before anything else: from now on they queue
        // on the signalfd instead of killing the process.
        let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM])?;
        println!(
            "signalfd fd {}: SIGINT and SIGTERM are blocked and queue here",
            signals.as_fd().as_raw_fd()
        );
        let socket = open_nonblocking(SERVER, CLIENT)?;
        println!(
            "socket   fd {}: raw, bind({}) connect({}): reads what {} sends to {}",
            socket.as_raw_fd(),
            SERVER.ip(),
            CLIENT.ip(),
            CLIENT.ip(),
            SERVER.ip()
        );
        let sender = open_nonblocking(CLIENT, SERVER)?;
        println!(
            "sender   fd {}: raw, bind({}) connect({}): sends {CLIENT} > {SERVER}",
            sender.as_raw_fd(),
            CLIENT.ip(),
            SERVER.ip()
        );
        if recording.is_some() {
            // Before any packet comes: each is stamped when it crosses lo.
            enable_arrival_times(&socket)?;
            enable_arrival_times(&sender)?;
        }
        let timer = Timer::new()?;
        println!(
            "timer    fd {}: a timerfd, not armed yet",
            timer.as_fd().as_raw_fd()
        );

        let epoll = EventSet::new()?;
        epoll.add(&socket, Token::Socket as u64, Flags::EPOLLIN)?;
        epoll.add(&sender, Token::Sender as u64, Flags::EPOLLIN)?;
        epoll.add(&timer, Token::Timer as u64, Flags::EPOLLIN)?;
        epoll.add(&signals, Token::Signals as u64, Flags::EPOLLIN)?;
        println!(
            "epoll    fd {}: EPOLL_CTL_ADD of all four, each for EPOLLIN",
            epoll.as_fd().as_raw_fd()
        );
        Ok(Demo {
            epoll,
            socket,
            sender,
            timer,
            signals,
            ticks,
            tick: 0,
            sent: 0,
            received: 0,
            pending: false,
            buf: vec![0; MAX_PACKET],
            recording,
        })
    }
    // ANCHOR_END: setup

    // ANCHOR: timeout
    /// Nothing has happened yet, so a wait with a timeout returns 0.
    fn show_timeout(&self) -> Result<()> {
        let mut events = [Event::empty(); 4];
        let timeout = Duration::from_millis(20);
        let n = self.epoll.wait(&mut events, Some(timeout))?;
        println!(
            "\nepoll_wait({timeout:?}) = {n}: the timeout passed, nothing was ready"
        );
        Ok(())
    }
    // ANCHOR_END: timeout

    // ANCHOR: loop
    /// Waits, and handles every event of every wait, until the last segment is
    /// read or a signal arrives.
    fn run_loop(&mut self) -> Result<Stop> {
        self.timer.arm_every(TICK)?;
        println!("timer armed: a tick every {TICK:?}, {} ticks", self.ticks);
        let mut events = [Event::empty(); 8];
        loop {
            let n = self.epoll.wait(&mut events, None)?;
            println!("\nepoll_wait(no timeout) = {n} ready");
            let mut stop = None;
            // All n events: several fds are often ready at once.
            for event in &events[..n] {
                let Some(token) = Token::from_data(event.data()) else {
                    println!(
                        "  unknown token {}: {}",
                        event.data(),
                        describe(event.events())
                    );
                    continue;
                };
                println!("  {}: {}", token.name(), describe(event.events()));
                let result = match token {
                    Token::Socket => self.on_socket()?,
                    Token::Sender => self.on_sender(event.events())?,
                    Token::Timer => self.on_timer()?,
                    Token::Signals => self.on_signals()?,
                };
                stop = stop.or(result);
            }
            if let Some(stop) = stop {
                return Ok(stop);
            }
        }
    }
    // ANCHOR_END: loop

    // ANCHOR: timer
    /// A tick: read the timerfd (or it stays readable), then ask epoll to say
    /// when the sender can write: EPOLL_CTL_MOD adds EPOLLOUT to its interest.
    fn on_timer(&mut self) -> Result<Option<Stop>> {
        let expirations = self.timer.expirations()?;
        self.tick += 1;
        println!(
            "    tick {}: {expirations} expiration(s) read from the timerfd",
            self.tick
        );
        if self.sent < self.ticks && !self.pending {
            self.pending = true;
            let interest = Flags::EPOLLIN | Flags::EPOLLOUT;
            self.epoll
                .modify(&self.sender, Token::Sender as u64, interest)?;
            println!(
                "    EPOLL_CTL_MOD sender {}: a segment waits to be sent",
                describe(interest)
            );
        } else if self.tick > self.ticks + GRACE_TICKS {
            return Err("the last segment never reached the socket".into());
        }
        Ok(None)
    }
    // ANCHOR_END: timer

    // ANCHOR: send
    /// The sender is readable (the kernel's RST came back) or writable (a
    /// segment waits): read, or send and drop EPOLLOUT again, since a socket
    /// with room in its buffer is writable all the time and would wake every
    /// wait.
    fn on_sender(&mut self, flags: Flags) -> Result<Option<Stop>> {
        if flags.contains(Flags::EPOLLIN) {
            let recording = self.recording.as_mut();
            drain(&self.sender, CLIENT, SERVER, &mut self.buf, recording)?;
        }
        if flags.contains(Flags::EPOLLOUT) && self.pending {
            let seq = ISN + self.sent as usize * REQUEST.len();
            let segment = data_segment(CLIENT, SERVER, seq, ISN, REQUEST);
            send(&self.sender, &segment)?;
            self.sent += 1;
            self.pending = false;
            let line =
                segment_summary(CLIENT, SERVER, &segment, ChecksumCheck::Verify)?;
            println!("    sent {} bytes: {line}", segment.len());
            self.epoll
                .modify(&self.sender, Token::Sender as u64, Flags::EPOLLIN)?;
            println!("    EPOLL_CTL_MOD sender EPOLLIN: nothing left to send");
        }
        Ok(None)
    }
    // ANCHOR_END: send

    // ANCHOR: socket
    /// The socket is readable: read every queued packet, and stop once the
    /// last segment is in.
    fn on_socket(&mut self) -> Result<Option<Stop>> {
        let recording = self.recording.as_mut();
        self.received +=
            drain(&self.socket, SERVER, CLIENT, &mut self.buf, recording)?;
        Ok((self.received >= self.ticks).then_some(Stop::Done))
    }
    // ANCHOR_END: socket

    // ANCHOR: signals
    /// A signal is queued: reading the signalfd says which, and dequeues it.
    fn on_signals(&mut self) -> Result<Option<Stop>> {
        let mut stop = None;
        while let Some(signal) = self.signals.read()? {
            println!("    {signal} read from the signalfd");
            stop = Some(Stop::Signal(signal));
        }
        Ok(stop)
    }
    // ANCHOR_END: signals

    // ANCHOR: close
    /// EPOLL_CTL_DEL every registration, then drop (close) the fds. Deleting
    /// first matters: a registration belongs to the open file, and a dup of the
    /// fd elsewhere would keep it, and its events, alive after close().
    fn close(self) -> Result<()> {
        self.epoll.delete(&self.socket)?;
        self.epoll.delete(&self.sender)?;
        self.epoll.delete(&self.timer)?;
        self.epoll.delete(&self.signals)?;
        println!("EPOLL_CTL_DEL socket, sender, timer, signals");
        // The timer still ticks, but the set no longer hears of it.
        let mut events = [Event::empty(); 4];
        let timeout = 2 * TICK;
        let n = self.epoll.wait(&mut events, Some(timeout))?;
        let expirations = self.timer.expirations()?;
        println!(
            "epoll_wait({timeout:?}) = {n}: the timer expired {expirations} time(s) \
             meanwhile, but it is not watched any more"
        );
        println!("dropping the fds closes them");
        if let Some(mut recording) = self.recording {
            // What came after the loop's last read: the RST that answers the
            // last segment, when the loop stopped before it was read.
            recording.add_queued(&self.socket)?;
            recording.add_queued(&self.sender)?;
            println!("{}", recording.finish()?);
        }
        Ok(())
    }
    // ANCHOR_END: close
}

// ANCHOR: drain
/// Reads every packet queued on `socket` until EAGAIN and prints each with the
/// verdict of [`classify`] for the endpoint `me` talking to `peer` (and keeps
/// it for `--pcap`, if recording). Returns how many came from the peer.
fn drain(
    socket: &RawSocket,
    me: SocketAddrV4,
    peer: SocketAddrV4,
    buf: &mut [u8],
    mut recording: Option<&mut Recording>,
) -> Result<u32> {
    let mut from_peer = 0;
    // `None`: EAGAIN, nothing more is queued.
    while let Some(len) = socket.try_recv(buf)? {
        if let Some(recording) = recording.as_deref_mut() {
            recording.add(socket, &buf[..len])?;
        }
        match parse_received(&buf[..len]) {
            Ok(packet) => {
                let verdict = classify(&packet, me, peer);
                if verdict == Verdict::FromPeer {
                    from_peer += 1;
                }
                println!("    read {len} bytes: {}: {verdict}", packet.summary());
            }
            Err(error) => println!("    read {len} bytes, malformed: {error}"),
        }
    }
    Ok(from_peer)
}
// ANCHOR_END: drain

// ANCHOR: recording
/// For `--pcap`: every packet both sockets read, with the moment it arrived.
/// The loop reads the sockets in the order epoll reports them, which need not
/// be the order the packets crossed `lo` (the sender may read the kernel's RST
/// before the socket reads the segment it answers), so the packets are
/// written in the order of their arrival times, when the demo ends.
struct Recording {
    file: PcapWriter<BufWriter<File>>,
    packets: Vec<(SystemTime, Vec<u8>)>,
}

impl Recording {
    fn new(file: PcapWriter<BufWriter<File>>) -> Recording {
        Recording {
            file,
            packets: Vec::new(),
        }
    }

    /// Keeps `packet`, just read from `socket`, with its arrival time.
    fn add(&mut self, socket: &RawSocket, packet: &[u8]) -> Result<()> {
        self.packets.push((arrival_time(socket)?, packet.to_vec()));
        Ok(())
    }

    /// Keeps whatever is still queued on `socket`, unprinted.
    fn add_queued(&mut self, socket: &RawSocket) -> Result<()> {
        let mut buf = vec![0; MAX_PACKET];
        while let Some(len) = socket.try_recv(&mut buf)? {
            self.add(socket, &buf[..len])?;
        }
        Ok(())
    }

    /// Writes the packets in the order they arrived, closes the file and
    /// says how many it holds.
    fn finish(mut self) -> Result<String> {
        self.file.write_in_arrival_order(self.packets)?;
        let (count, name) = (self.file.count(), self.file.name().to_owned());
        self.file.finish()?;
        Ok(format!("pcap: {count} packets written to {name}"))
    }
}
// ANCHOR_END: recording
