//! The yardstick: the same echo over the kernel's own TCP, a `SOCK_STREAM`
//! connection on 127.0.0.1:50000.
//!
//! Built like the raw one: one request in flight, the server on a thread of
//! its own, each end non-blocking in its own `EventSet`, `TCP_NODELAY` on both
//! (so no segment waits for Nagle's algorithm). The kernel does all that the
//! raw echo does by hand, and more: sequence numbers, acknowledgments (riding
//! on the reply), checksums (left out on `lo`, which cannot damage a packet).
//! No RST is sent, and no raw socket reads anything.

use std::io::{self, ErrorKind, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::thread;
use std::time::Instant;

use nix::errno::Errno;
use step_01_socket::SysError;
use step_02_bind_connect::SERVER;
use step_03_epoll::{Event, EventSet, Flags, Timer};
use support::Error;

use crate::figures::Run;
use crate::raw::{PATIENCE, payload};

/// The 64-bit token each fd is registered with, as in steps 3 and 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Stream = 1,
    Watchdog = 2,
}

impl Token {
    const ALL: [Token; 2] = [Token::Stream, Token::Watchdog];

    fn from_data(data: u64) -> Option<Token> {
        Token::ALL.into_iter().find(|token| *token as u64 == data)
    }
}

// ANCHOR: watchdog
/// Keeps an end from waiting for ever when the other is gone: a timerfd in
/// the end's epoll set that ticks every [`PATIENCE`]. (The raw echoes need
/// none: their client's machine gives a request up after the same time.) A tick that finds no
/// progress since the tick before is a stall, and ends the run.
///
/// Why not a timeout on each `epoll_wait`? A timeout makes the kernel arm and
/// cancel a timer on every call, twice per round trip: a few percent of the
/// raw echo's time, on this measurement's hot path. The timerfd is armed once.
pub struct Watchdog {
    timer: Timer,
    /// The progress count at the last tick.
    seen: u64,
}

impl Watchdog {
    /// Starts ticking, in `events` under its own token.
    pub fn new(events: &EventSet) -> Result<Watchdog, SysError> {
        let timer = Timer::new()?;
        events.add(&timer, Token::Watchdog as u64, Flags::EPOLLIN)?;
        timer.arm_every(PATIENCE)?;
        Ok(Watchdog { timer, seen: 0 })
    }

    /// Waits until `events` reports the end's socket (its stream)
    /// readable.
    /// `progress` counts what the end has done so far (round trips, requests
    /// answered); `what` names what it waits for, for the error.
    pub fn wait(
        &mut self,
        events: &EventSet,
        ready: &mut [Event],
        progress: u64,
        what: &str,
    ) -> Result<(), SysError> {
        loop {
            // No timeout: the watchdog's tick wakes us if nothing else does.
            let n = events.wait(ready, None)?;
            let mut readable = false;
            for event in &ready[..n] {
                match Token::from_data(event.data()) {
                    Some(Token::Stream) => readable = true,
                    Some(Token::Watchdog) => self.tick(progress, what)?,
                    None => {}
                }
            }
            if readable {
                return Ok(());
            }
        }
    }

    fn tick(&mut self, progress: u64, what: &str) -> Result<(), SysError> {
        self.timer.expirations()?;
        if progress == self.seen {
            let call = format!("epoll_wait: no {what} in {PATIENCE:?}");
            return Err(SysError::new(call, Errno::ETIMEDOUT));
        }
        self.seen = progress;
        Ok(())
    }
}
// ANCHOR_END: watchdog

/// A failed call of the standard library's sockets, as a [`SysError`].
fn sys(call: &str, error: io::Error) -> SysError {
    let errno = Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO));
    SysError::new(call, errno)
}

/// An epoll set watching `stream` for reading, and a watchdog in it.
fn watch(stream: &impl AsFd) -> Result<(EventSet, Watchdog), SysError> {
    let events = EventSet::new()?;
    events.add(stream, Token::Stream as u64, Flags::EPOLLIN)?;
    let watchdog = Watchdog::new(&events)?;
    Ok((events, watchdog))
}

/// Sets what both ends of the connection need.
fn tune(stream: &TcpStream) -> Result<(), SysError> {
    stream
        .set_nodelay(true)
        .map_err(|e| sys("setsockopt(TCP_NODELAY)", e))?;
    stream
        .set_nonblocking(true)
        .map_err(|e| sys("fcntl(O_NONBLOCK)", e))
}

// ANCHOR: run
/// Runs `warm_up` round trips, then measures `count` more, with `size`-byte
/// payloads over one TCP connection to 127.0.0.1:50000.
pub fn run(size: usize, warm_up: u64, count: u64) -> Result<Run, Error> {
    let listener = TcpListener::bind(SERVER)
        .map_err(|e| sys("bind(127.0.0.1:50000, SOCK_STREAM)", e))?;
    // The handshake completes in the kernel, before anybody calls accept().
    let client = TcpStream::connect(SERVER)
        .map_err(|e| sys("connect(127.0.0.1:50000, SOCK_STREAM)", e))?;
    tune(&client)?;
    let payload = payload(size);
    let run = thread::scope(|scope| {
        let server = scope.spawn(|| serve(&listener));
        let asked = ask(client, &payload, warm_up, count);
        let served = server.join().unwrap_or_else(|_| {
            Err(SysError::new("the server's thread panicked", Errno::EIO))
        });
        let run = asked?;
        served?;
        Ok::<Run, SysError>(run)
    })?;
    Ok(run)
}
// ANCHOR_END: run

/// The server: accepts the one connection and writes back whatever it reads,
/// until the client closes it.
fn serve(listener: &TcpListener) -> Result<(), SysError> {
    let (mut stream, _) = listener.accept().map_err(|e| sys("accept", e))?;
    tune(&stream)?;
    let (events, mut watchdog) = watch(&stream)?;
    let mut ready = [Event::empty(); 4];
    let mut buf = vec![0; 64 * 1024];
    let mut echoed = 0u64;
    loop {
        watchdog.wait(&events, &mut ready, echoed, "request")?;
        loop {
            match stream.read(&mut buf) {
                // The client closed the connection: done.
                Ok(0) => return Ok(()),
                // One request in flight: the send buffer (hundreds of KiB
                // on lo) always has room, so the write never waits.
                Ok(n) => {
                    stream
                        .write_all(&buf[..n])
                        .map_err(|e| sys("write(SOCK_STREAM)", e))?;
                    echoed += n as u64;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(sys("read(SOCK_STREAM)", e)),
            }
        }
    }
}

/// The client: `warm_up` round trips, then `count` measured ones; a reply is
/// complete when all of the request's bytes have come back.
fn ask(
    mut stream: TcpStream,
    payload: &[u8],
    warm_up: u64,
    count: u64,
) -> Result<Run, SysError> {
    let (events, mut watchdog) = watch(&stream)?;
    let mut ready = [Event::empty(); 4];
    let mut reply = vec![0; payload.len()];
    let mut run = Run {
        latencies_ns: Vec::with_capacity(count as usize),
        ..Run::default()
    };
    let mut start = Instant::now();
    for round in 0..warm_up + count {
        if round == warm_up {
            start = Instant::now();
        }
        let sent_at = Instant::now();
        stream
            .write_all(payload)
            .map_err(|e| sys("write(SOCK_STREAM)", e))?;
        let mut got = 0;
        while got < payload.len() {
            watchdog.wait(&events, &mut ready, round, "reply")?;
            run.wakeups += 1;
            loop {
                match stream.read(&mut reply[got..]) {
                    Ok(0) => {
                        let call =
                            "read(SOCK_STREAM): the server closed the connection";
                        return Err(SysError::new(call, Errno::ECONNRESET));
                    }
                    Ok(n) => got += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(sys("read(SOCK_STREAM)", e)),
                }
                if got == payload.len() {
                    break;
                }
            }
        }
        if reply != payload {
            let call =
                format!("read(SOCK_STREAM): round trip {round} came back changed");
            return Err(SysError::new(call, Errno::EIO));
        }
        let took = sent_at.elapsed().as_nanos();
        if round >= warm_up {
            run.latencies_ns
                .push(u32::try_from(took).unwrap_or(u32::MAX));
        }
    }
    run.elapsed = start.elapsed();
    run.round_trips = warm_up + count;
    // Dropping the stream closes the connection: the server's read returns 0.
    Ok(run)
}
