//! The raw echoes, measured as the learner runs them: step 4's `Server` and
//! `Client` machines in step 4's `Echo` loop, with a report that prints
//! nothing and notes each round trip's time.
//!
//! The server runs on a thread of its own, the client on the calling thread,
//! each in an `Echo` of its own: the tutorial's two terminals, in one
//! process. Each side's socket is opened here, as step 4's are (bound,
//! connected, non-blocking), then prepared as the row asks (step 5's filter
//! for `raw-filtered`), then handed to the loop; for `raw-silenced` step 6's
//! nftables rule is put in the namespace first. The client runs ping-pong:
//! each request as soon as the last is answered, so one is in flight.
//!
//! The server ends as the tutorial's server does, on a signal: once the
//! client is done, this thread sends the server's thread SIGTERM, which its
//! loop reads from its signalfd. The client's wait for a reply is bounded by
//! its own machine: a request with no reply after [`PATIENCE`] is lost, and a
//! lost request ends the run, with the same signal sent to itself.

use std::io;
use std::net::SocketAddrV4;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::Signal;
use step_01_socket::{RawSocket, SysError};
use step_02_bind_connect::{CLIENT, REQUEST, SERVER};
use step_03_epoll::{Signals, open_nonblocking};
use step_04_echo::capture::Capture;
use step_04_echo::echo_loop::{Echo, Ending, Side};
use step_04_echo::report::{Quiet, Report, Said};
use step_04_echo::{Client, ClientConfig, ClientEvent, Overdue, Server};
use step_05_bpf_filter::filter_socket;
use step_06_handshake::silence::{SilenceError, find_nft, silence, unsilence};
use support::Error;

use crate::figures::Run;

/// How long an end waits for the other without any progress before it gives
/// up: on `lo` with one request in flight, a reply takes microseconds.
pub const PATIENCE: Duration = Duration::from_secs(1);

/// What is done to each end's socket after `bind()` and `connect()`, before
/// the first segment: given the socket, its own end and its peer's.
type Prepare = fn(&RawSocket, SocketAddrV4, SocketAddrV4) -> Result<(), SysError>;

/// `raw`: step 4's echo as it is.
pub fn unfiltered(size: usize, warm_up: u64, count: u64) -> Result<Run, Error> {
    run(size, warm_up, count, |_, _, _| Ok(()))
}

// ANCHOR: filtered
/// `raw-filtered`: step 4's echo with step 5's filter on both sockets, put
/// there as step 5's demo puts it.
pub fn filtered(size: usize, warm_up: u64, count: u64) -> Result<Run, Error> {
    run(size, warm_up, count, |socket, me, peer| {
        filter_socket(socket, me, peer).map(drop)
    })
}
// ANCHOR_END: filtered

// ANCHOR: silenced
/// `raw-silenced`: step 4's echo as it is, with step 6's nftables rule in the
/// bench's namespace for each end, as step 6's program puts it there: the
/// kernel's RSTs in either end's name are dropped on their way out, before
/// they reach `lo` or any socket. The rules are taken out again afterwards,
/// for the rows that take their turn after this one.
pub fn silenced(size: usize, warm_up: u64, count: u64) -> Result<Run, Error> {
    silence(SERVER).map_err(nft_error)?;
    silence(CLIENT).map_err(nft_error)?;
    let run = run(size, warm_up, count, |_, _, _| Ok(()));
    unsilence().map_err(nft_error)?;
    run
}
// ANCHOR_END: silenced

/// Whether `raw-silenced` can be measured here: step 6's rule needs `nft`.
pub fn nft_installed() -> Result<(), String> {
    match find_nft() {
        Some(_) => Ok(()),
        None => Err(SilenceError::NoNft.to_string()),
    }
}

/// A failed `nft`, in the bench's errors.
fn nft_error(error: SilenceError) -> Error {
    Error::io(
        "step 6's nft rule for raw-silenced",
        io::Error::other(error),
    )
}

/// `size` bytes of payload: `Hello server` over and over.
pub fn payload(size: usize) -> Vec<u8> {
    REQUEST.iter().copied().cycle().take(size).collect()
}

/// The signals an echo's loop stops on.
const STOP: [Signal; 2] = [Signal::SIGINT, Signal::SIGTERM];

// ANCHOR: run
/// Runs `warm_up` round trips, then measures `count` more, with `size`-byte
/// payloads each way between 127.0.0.2:50001 (the client, on this thread)
/// and 127.0.0.1:50000 (the server, on a thread of its own).
fn run(
    size: usize,
    warm_up: u64,
    count: u64,
    prepare: Prepare,
) -> Result<Run, Error> {
    // Both sockets exist before the first request, so none is missed.
    let server_socket = open_end(SERVER, CLIENT, prepare)?;
    let client_socket = open_end(CLIENT, SERVER, prepare)?;
    let payload = payload(size);
    // Blocked on this thread before the server's starts, which inherits the
    // mask: a SIGTERM for it waits in its signalfd, it never kills.
    let signals = Signals::new(&STOP)?;
    thread::scope(|scope| {
        // The server's thread says who it is, for the signal that stops it.
        let (tell, told) = mpsc::channel();
        let payload = &payload;
        let server = scope.spawn(move || {
            let _ = tell.send(pthread_self());
            serve(server_socket, payload)
        });
        let server_thread = told.recv().map_err(|_| {
            SysError::new("the server's thread did not start", Errno::EIO)
        })?;
        let asked = ask(signals, client_socket, payload, warm_up, count);
        // Done, or failed: stop the server as Ctrl+C stops the tutorial's.
        let stopped = pthread_kill(server_thread, Signal::SIGTERM);
        let served = server.join().unwrap_or_else(|_| {
            Err(SysError::new("the server's thread panicked", Errno::EIO).into())
        });
        // The client's failure says more (the server then only stopped).
        let mut run = asked?;
        stopped.map_err(|e| SysError::new("pthread_kill(SIGTERM)", e))?;
        (run.server_requests, run.server_rsts) = served?;
        Ok(run)
    })
}
// ANCHOR_END: run

/// Opens one end's raw socket as step 4 does (bound to `me`, connected to
/// `peer`, non-blocking), then hands it to `prepare`.
fn open_end(
    me: SocketAddrV4,
    peer: SocketAddrV4,
    prepare: Prepare,
) -> Result<RawSocket, SysError> {
    let socket = open_nonblocking(me, peer)?;
    prepare(&socket, me, peer)?;
    Ok(socket)
}

/// The server: step 4's machine, answering with the request's size, in step
/// 4's loop until SIGTERM. Returns the requests it answered and the RSTs it
/// read.
fn serve(socket: RawSocket, reply: &[u8]) -> Result<(u64, u64), Error> {
    let signals = Signals::new(&STOP)?;
    let side = Side::new(socket, Server::replying(SERVER, CLIENT, reply));
    let mut echo = Echo::new(signals, Some(side), None, Capture::off(), Quiet)?;
    echo.run_loop()?;
    let server = echo.server().map(Side::machine);
    let counts = server.map(|s| (s.requests(), s.ignored().get("kernel-rst")));
    Ok(counts.unwrap_or_default())
}

/// The client: step 4's machine in ping-pong, `warm_up` round trips and then
/// `count` more, in step 4's loop with [`Timing`] as its report.
fn ask(
    signals: Signals,
    socket: RawSocket,
    payload: &[u8],
    warm_up: u64,
    count: u64,
) -> Result<Run, Error> {
    let config = ClientConfig {
        count: Some(warm_up + count),
        interval: Duration::ZERO,
        timeout: PATIENCE,
        tries: 1,
    };
    let client = Client::sending(CLIENT, SERVER, config, payload, Instant::now());
    let side = Some(Side::new(socket, client));
    let timing = Timing::new(warm_up, count);
    let mut echo = Echo::new(signals, None, side, Capture::off(), timing)?;
    let ending = echo.run_loop()?;
    let Some(side) = echo.client() else {
        return Err(SysError::new("the client's side is gone", Errno::EIO).into());
    };
    let timing = echo.report();
    if ending == Ending::Stopped || !side.machine().succeeded() {
        let why = match timing.lost {
            true => format!("no reply within {PATIENCE:?}"),
            false => "stopped by a signal".to_owned(),
        };
        let call = format!("the raw echo at {} bytes: {why}", payload.len());
        return Err(SysError::new(call, Errno::ETIMEDOUT).into());
    }
    let machine = side.machine();
    Ok(Run {
        latencies_ns: timing.latencies_ns.clone(),
        elapsed: timing.elapsed(),
        round_trips: machine.answered(),
        wakeups: side.wakes(),
        client_rsts: machine.ignored().get("kernel-rst"),
        ..Run::default()
    })
}

// ANCHOR: timing
/// The client's report: it prints nothing, and notes each measured round
/// trip's time, which the client's machine measures from the request's first
/// try to the moment its reply has been checked.
struct Timing {
    warm_up: u64,
    last: u64,
    latencies_ns: Vec<u32>,
    /// When the warm-up's last reply came, and the last reply.
    started: Instant,
    ended: Option<Instant>,
    /// Whether a request went without a reply.
    lost: bool,
}

impl Timing {
    fn new(warm_up: u64, count: u64) -> Timing {
        Timing {
            warm_up,
            last: warm_up + count,
            latencies_ns: Vec::with_capacity(count as usize),
            started: Instant::now(),
            ended: None,
            lost: false,
        }
    }

    /// The time the measured round trips took together.
    fn elapsed(&self) -> Duration {
        self.ended
            .map_or(Duration::ZERO, |ended| ended - self.started)
    }
}

impl Report for Timing {
    fn report(&mut self, said: Said<'_>) {
        match said {
            Said::Client(ClientEvent::Reply {
                number, round_trip, ..
            }) => {
                if number == self.warm_up {
                    self.started = Instant::now();
                } else if number > self.warm_up {
                    let ns =
                        u32::try_from(round_trip.as_nanos()).unwrap_or(u32::MAX);
                    self.latencies_ns.push(ns);
                }
                if number == self.last {
                    self.ended = Some(Instant::now());
                }
            }
            // On lo a reply does not get lost: the server is gone, or stuck.
            // Stop, as a user would with Ctrl+C.
            Said::Overdue(Overdue::Lost(_)) => {
                self.lost = true;
                let _ = pthread_kill(pthread_self(), Signal::SIGTERM);
            }
            _ => {}
        }
    }
}
// ANCHOR_END: timing
