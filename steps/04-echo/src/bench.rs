//! `bench`: what a round trip of the raw echo costs, next to the kernel's own
//! TCP doing the same job, measured in one run on one machine.
//!
//! Each configuration is one echo at one payload size ([`SIZES`]): the raw
//! echo of this step (`raw`, see [`crate::bench_raw`]), perhaps with something
//! done to each raw socket first; the same exchange driven by the demo's own
//! `Server` and `Client` (`raw-machines`, 12 bytes only); or the kernel's TCP
//! (`kernel-tcp`, see [`crate::bench_kernel`]). Both ends run in this process:
//! the server on a thread of its own, the client on the calling thread, each
//! with its own epoll set. The client sends one request, waits for its reply,
//! and sends the next: one request in flight, so a round trip's time is the
//! latency of the whole path, user space, system calls, `lo` and the
//! scheduler included. The configurations take turns, in [`PASSES`] passes.
//!
//! What is measured, per configuration (see [`Figures`]):
//! - round trips per second, over the measured round trips;
//! - the 50th and 99th percentile of one round trip's time, from just before
//!   the request is built to the moment its reply has been checked;
//! - the client's wake-ups per round trip: `epoll_wait` calls that returned
//!   with its socket readable;
//! - the RSTs that reached user space per round trip, both ends' sockets
//!   together: the kernel answers every hand-made segment with one (2.00 per
//!   round trip for the raw echo, 0 for the kernel's TCP).
//!
//! The harness is generic over what happens to each raw socket after `bind()`
//! and `connect()` ([`Prepare`]): step 5 passes "attach the filter" and so
//! measures the filtered echo next to this one, in the same run.
//!
//! This module and its two helpers, [`crate::bench_raw`] and
//! [`crate::bench_kernel`], are, with the echo itself ([`crate::echo_loop`],
//! [`crate::capture`]), the library's only code with I/O: the rest of the
//! library stays free of it.

use std::fmt::{self, Write as _};
use std::net::SocketAddrV4;
use std::process::ExitCode;
use std::time::Duration;

use nix::errno::Errno;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::Pid;
use step_01_socket::{RawSocket, SysError};
use step_02_bind_connect::REQUEST;
use step_03_epoll::{Event, EventSet, Flags, Signals, Timer};
use support::netns::enter_private_namespace;

use crate::{bench_kernel, bench_raw};

/// Round trips measured per configuration unless `--count` says otherwise.
pub const DEFAULT_COUNT: u64 = 100_000;
/// The most `--count` accepts: each round trip's time is kept (4 bytes each).
pub const MAX_COUNT: u64 = 10_000_000;
/// Round trips run and not counted before each measurement: caches, the
/// scheduler's view of the two threads, the CPU's clock settle.
pub const WARM_UP: u64 = 1000;
/// How many passes over all configurations a run makes, each measuring its
/// share of `--count` round trips of each: the configurations take turns, so
/// that a slower minute of a busy machine does not fall on one of them alone
/// and skew the ratios.
pub const PASSES: u64 = 5;
/// The payload sizes measured: the tutorial's 12 bytes (`Hello server`), and
/// 1400, close to a full Ethernet-sized segment.
pub const SIZES: [usize; 2] = [12, 1400];
/// How long an end waits without any progress before it gives up: on `lo`
/// with one request in flight, a reply takes microseconds.
pub const PATIENCE: Duration = Duration::from_secs(1);

/// The epoll token of an end's socket.
pub const SOCKET: u64 = 0;
/// The epoll token of an end's [`Watchdog`].
pub const WATCHDOG: u64 = 1;

/// `bench`'s options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchOptions {
    /// Round trips measured per configuration.
    pub count: u64,
    /// Both ends on one CPU (the default), or wherever the scheduler likes.
    pub pin: bool,
    /// One JSON object per configuration instead of the table.
    pub json: bool,
}

impl Default for BenchOptions {
    fn default() -> BenchOptions {
        BenchOptions {
            count: DEFAULT_COUNT,
            pin: true,
            json: false,
        }
    }
}

// ANCHOR: prepare
/// What is done to each raw socket of the echo after `bind()` and `connect()`,
/// before the first segment: given the socket, its own end and its peer's.
/// Step 5 attaches its filter here.
pub type Prepare =
    dyn Fn(&RawSocket, SocketAddrV4, SocketAddrV4) -> Result<(), SysError>;
// ANCHOR_END: prepare

/// Which echo a configuration runs.
#[derive(Clone, Copy)]
pub enum Echo<'a> {
    /// The raw echo, each end's socket handed to `prepare` if there is one.
    Raw(Option<&'a Prepare>),
    /// The raw echo driven by the demo's `Server` and `Client`: 12 bytes only.
    Machines,
    /// The kernel's TCP: `SOCK_STREAM` on 127.0.0.1, `TCP_NODELAY`.
    KernelTcp,
}

impl Echo<'_> {
    /// Whether this echo can carry `size`-byte payloads.
    pub fn carries(&self, size: usize) -> bool {
        match self {
            Echo::Machines => size == REQUEST.len(),
            Echo::Raw(_) | Echo::KernelTcp => true,
        }
    }
}

/// One echo to measure at every size in [`SIZES`].
#[derive(Clone, Copy)]
pub struct Variant<'a> {
    /// Its short name, in the table and in the JSON: `raw`, `kernel-tcp`.
    pub name: &'static str,
    /// The echo.
    pub echo: Echo<'a>,
}

/// A ratio of round trips per second to print: `of` / `to`, at each size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// The variant on top.
    pub of: &'static str,
    /// The variant below.
    pub to: &'static str,
}

/// Step 4's raw echo.
pub const RAW: Variant<'static> = Variant {
    name: "raw",
    echo: Echo::Raw(None),
};

/// Step 4's raw echo as the demo runs it, with its `Server` and `Client`.
pub const MACHINES: Variant<'static> = Variant {
    name: "raw-machines",
    echo: Echo::Machines,
};

/// The kernel's TCP echo.
pub const KERNEL_TCP: Variant<'static> = Variant {
    name: "kernel-tcp",
    echo: Echo::KernelTcp,
};

/// What one run of an echo counted: the client's side of it, and the
/// server's RSTs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// Each measured round trip's time, in nanoseconds, in order.
    pub latencies_ns: Vec<u32>,
    /// The time all measured round trips took together.
    pub elapsed: Duration,
    /// `epoll_wait` returns on the client side during the measured round
    /// trips.
    pub wakeups: u64,
    /// RSTs the client's socket read during the measured round trips.
    pub client_rsts: u64,
    /// Requests the server answered, warm-up included: it cannot tell which
    /// round trips the client counts.
    pub server_requests: u64,
    /// RSTs the server's socket read while it answered them.
    pub server_rsts: u64,
}

impl Run {
    /// Adds `other`'s counts and round trips to this run's.
    pub fn merge(&mut self, other: Run) {
        self.latencies_ns.extend(other.latencies_ns);
        self.elapsed += other.elapsed;
        self.wakeups += other.wakeups;
        self.client_rsts += other.client_rsts;
        self.server_requests += other.server_requests;
        self.server_rsts += other.server_rsts;
    }
}

// ANCHOR: figures
/// The figures of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The variant's name.
    pub echo: &'static str,
    /// Payload bytes per request (and per reply).
    pub size: usize,
    /// How many round trips were measured.
    pub round_trips: u64,
    /// Measured round trips divided by the time they took.
    pub round_trips_per_s: f64,
    /// Half the round trips took at most this long, in microseconds.
    pub p50_us: f64,
    /// 99 % of the round trips took at most this long, in microseconds.
    pub p99_us: f64,
    /// The client's `epoll_wait` returns per round trip.
    pub wakeups_per_round_trip: f64,
    /// RSTs read in user space per round trip, both ends together.
    pub rsts_per_round_trip: f64,
}
// ANCHOR_END: figures

impl Figures {
    /// The figures of `run`, an echo of `size`-byte payloads.
    pub fn new(echo: &'static str, size: usize, run: &Run) -> Figures {
        let mut sorted = run.latencies_ns.clone();
        sorted.sort_unstable();
        let round_trips = sorted.len() as u64;
        let per = |n: u64| n as f64 / round_trips.max(1) as f64;
        let seconds = run.elapsed.as_secs_f64();
        Figures {
            echo,
            size,
            round_trips,
            round_trips_per_s: if seconds > 0.0 {
                round_trips as f64 / seconds
            } else {
                0.0
            },
            p50_us: f64::from(percentile(&sorted, 50)) / 1000.0,
            p99_us: f64::from(percentile(&sorted, 99)) / 1000.0,
            wakeups_per_round_trip: per(run.wakeups),
            rsts_per_round_trip: per(run.client_rsts)
                + run.server_rsts as f64 / run.server_requests.max(1) as f64,
        }
    }
}

/// The `p`th percentile of `sorted` by nearest rank: the smallest value that
/// at least `p` % of the values do not exceed. 0 for no values.
pub fn percentile(sorted: &[u32], p: u32) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

/// `--no-pin`, or the CPU both ends run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Both ends pinned to this CPU.
    Pinned(usize),
    /// Wherever the scheduler puts them.
    Free,
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Pinned(cpu) => write!(f, "both ends pinned to CPU {cpu}"),
            Placement::Free => {
                f.write_str("the two ends placed by the scheduler (--no-pin)")
            }
        }
    }
}

// ANCHOR: pin
/// Pins the calling thread, and so every thread it starts from now on, to one
/// CPU: the last one it may run on. On a virtual machine a wake-up that
/// crosses CPUs can cost more than the whole round trip on one CPU; pinned,
/// the figures measure the echo, not the hypervisor.
pub fn pin_to_one_cpu() -> Result<usize, SysError> {
    let me = Pid::from_raw(0);
    let allowed =
        sched_getaffinity(me).map_err(|e| SysError::new("sched_getaffinity", e))?;
    let cpu = (0..CpuSet::count())
        .rev()
        .find(|&cpu| allowed.is_set(cpu).unwrap_or(false))
        .ok_or_else(|| SysError::new("sched_getaffinity: no CPU", Errno::EINVAL))?;
    let mut only = CpuSet::new();
    only.set(cpu)
        .map_err(|e| SysError::new(format!("CPU_SET({cpu})"), e))?;
    sched_setaffinity(me, &only)
        .map_err(|e| SysError::new(format!("sched_setaffinity(CPU {cpu})"), e))?;
    Ok(cpu)
}
// ANCHOR_END: pin

// ANCHOR: watchdog
/// Keeps an end from waiting for ever when the other is gone: a timerfd in
/// the end's epoll set that ticks every [`PATIENCE`]. A tick that finds no
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
    /// Starts ticking, in `events` under the token [`WATCHDOG`].
    pub fn new(events: &EventSet) -> Result<Watchdog, SysError> {
        let timer = Timer::new()?;
        events.add(&timer, WATCHDOG, Flags::EPOLLIN)?;
        timer.arm_every(PATIENCE)?;
        Ok(Watchdog { timer, seen: 0 })
    }

    /// Waits until `events` reports the end's socket ([`SOCKET`]) readable.
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
                match event.data() {
                    SOCKET => readable = true,
                    WATCHDOG => self.tick(progress, what)?,
                    _ => {}
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

/// Undoes what the demo's first line did for SIGINT and SIGTERM: a benchmark
/// has no summary to save, so Ctrl+C simply ends it. Call it before any thread
/// starts (a thread inherits the mask).
pub fn let_signals_through() -> Result<(), SysError> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_unblock()
        .map_err(|e| SysError::new("pthread_sigmask(SIG_UNBLOCK)", e))
}

/// The `bench` command of a step's binary: `variants` measured (see [`run`])
/// in a private network namespace, and the exit status. `signals` is the
/// signalfd `main` opened first; a benchmark needs none.
pub fn command(
    signals: Signals,
    options: &BenchOptions,
    variants: &[Variant<'_>],
    ratios: &[Ratio],
) -> ExitCode {
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
    match run(options, variants, ratios) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: run
/// Runs every variant at every size, after pinning both ends (unless
/// `--no-pin`), and prints the figures: a table, or JSON. The configurations
/// take turns: [`PASSES`] passes, each running every configuration for its
/// share of the round trips after [`WARM_UP`] that are not counted. Must run
/// in a private network namespace: it opens raw sockets and listens on
/// 127.0.0.1:50000.
pub fn run(
    options: &BenchOptions,
    variants: &[Variant<'_>],
    ratios: &[Ratio],
) -> Result<Vec<Figures>, SysError> {
    let placement = if options.pin {
        Placement::Pinned(pin_to_one_cpu()?)
    } else {
        Placement::Free
    };
    let configurations: Vec<(Variant<'_>, usize)> = SIZES
        .iter()
        .flat_map(|&size| variants.iter().map(move |&variant| (variant, size)))
        .filter(|(variant, size)| variant.echo.carries(*size))
        .collect();
    let passes = PASSES.min(options.count);
    let heading = format!(
        "bench: {} round trips per configuration, in {passes} passes taking turns, \
         each after {WARM_UP} not counted; {placement}",
        options.count
    );
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build measures the compiler, not the echo: \
             add --release to cargo run"
        );
    }
    if options.json {
        eprintln!("{heading}");
    } else {
        println!("{heading}");
    }
    let mut runs = vec![Run::default(); configurations.len()];
    for pass in 0..passes {
        // This pass's share: the remainder goes to the first passes.
        let count =
            options.count / passes + u64::from(pass < options.count % passes);
        for ((variant, size), total) in configurations.iter().zip(&mut runs) {
            total.merge(run_one(variant.echo, *size, count)?);
        }
    }
    let all: Vec<Figures> = configurations
        .iter()
        .zip(&runs)
        .map(|((variant, size), run)| Figures::new(variant.name, *size, run))
        .collect();
    if options.json {
        print!("{}", json_lines(&all, ratios));
    } else {
        println!("{}", table_header());
        for figures in &all {
            println!("{}", table_row(figures));
        }
        print!("{}", ratio_lines(&all, ratios));
    }
    Ok(all)
}
// ANCHOR_END: run

/// One measurement of one configuration: a warm-up, then `count` round trips.
fn run_one(echo: Echo<'_>, size: usize, count: u64) -> Result<Run, SysError> {
    match echo {
        Echo::Raw(prepare) => bench_raw::run(size, WARM_UP, count, prepare),
        Echo::Machines => bench_raw::run_machines(WARM_UP, count),
        Echo::KernelTcp => bench_kernel::run(size, WARM_UP, count),
    }
}

/// The table's column titles.
pub fn table_header() -> String {
    format!(
        "{:<14} {:>8} {:>15} {:>8} {:>8} {:>13} {:>8}",
        "echo",
        "payload",
        "round trips/s",
        "p50 µs",
        "p99 µs",
        "wake-ups/rt",
        "RSTs/rt"
    )
}

/// One configuration's line of the table.
pub fn table_row(figures: &Figures) -> String {
    format!(
        "{:<14} {:>6} B {:>15.0} {:>8.1} {:>8.1} {:>13.2} {:>8.2}",
        figures.echo,
        figures.size,
        figures.round_trips_per_s,
        figures.p50_us,
        figures.p99_us,
        figures.wakeups_per_round_trip,
        figures.rsts_per_round_trip
    )
}

/// `of`'s round trips per second over `to`'s at `size`, if both were run.
pub fn ratio(all: &[Figures], of: &str, to: &str, size: usize) -> Option<f64> {
    let rate = |name: &str| {
        all.iter()
            .find(|f| f.echo == name && f.size == size)
            .map(|f| f.round_trips_per_s)
    };
    match (rate(of), rate(to)) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// `raw / kernel-tcp: 0.74 at 12 B, 0.71 at 1400 B`, one line per ratio.
pub fn ratio_lines(all: &[Figures], ratios: &[Ratio]) -> String {
    let mut text = String::new();
    for Ratio { of, to } in ratios {
        let parts: Vec<String> = SIZES
            .iter()
            .filter_map(|&size| {
                ratio(all, of, to, size).map(|r| format!("{r:.2} at {size} B"))
            })
            .collect();
        if !parts.is_empty() {
            let _ =
                writeln!(text, "{of} / {to} (round trips/s): {}", parts.join(", "));
        }
    }
    text
}

// ANCHOR: json
/// One JSON object per configuration, one per line (JSON Lines), written by
/// hand: `{"echo":"raw","payload_bytes":12,...}`. A variant that is the `of`
/// of a [`Ratio`] also gets `ratio_to_<to>` (dashes as underscores), its
/// round trips per second over the other's at the same size.
pub fn json_lines(all: &[Figures], ratios: &[Ratio]) -> String {
    let mut text = String::new();
    for f in all {
        let _ = write!(
            text,
            "{{\"echo\":\"{}\",\"payload_bytes\":{},\"round_trips\":{},\
             \"round_trips_per_s\":{:.0},\"p50_us\":{:.1},\"p99_us\":{:.1},\
             \"wakeups_per_round_trip\":{:.2},\"rsts_per_round_trip\":{:.2}",
            f.echo,
            f.size,
            f.round_trips,
            f.round_trips_per_s,
            f.p50_us,
            f.p99_us,
            f.wakeups_per_round_trip,
            f.rsts_per_round_trip
        );
        for Ratio { of, to } in ratios.iter().filter(|r| r.of == f.echo) {
            if let Some(r) = ratio(all, of, to, f.size) {
                let _ =
                    write!(text, ",\"ratio_to_{}\":{r:.2}", to.replace('-', "_"));
            }
        }
        text.push_str("}\n");
    }
    text
}
// ANCHOR_END: json

#[cfg(test)]
mod tests {
    use super::*;

    fn run(latencies_us: &[u32], wakeups: u64, client_rsts: u64) -> Run {
        Run {
            latencies_ns: latencies_us.iter().map(|us| us * 1000).collect(),
            elapsed: Duration::from_micros(latencies_us.iter().sum::<u32>().into()),
            wakeups,
            client_rsts,
            server_requests: 10,
            server_rsts: 10,
        }
    }

    #[test]
    fn percentiles_are_by_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), 50);
        assert_eq!(percentile(&values, 99), 99);
        assert_eq!(percentile(&values, 100), 100);
        assert_eq!(percentile(&[7], 50), 7);
        assert_eq!(percentile(&[7], 99), 7);
        // Two values: the median is the first, the 99th the second.
        assert_eq!(percentile(&[3, 9], 50), 3);
        assert_eq!(percentile(&[3, 9], 99), 9);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn figures_are_per_round_trip() {
        // Four round trips in 100 µs: 40 000 per second.
        let figures = Figures::new("raw", 12, &run(&[40, 20, 10, 30], 6, 4));
        assert_eq!(figures.round_trips, 4);
        assert!((figures.round_trips_per_s - 40_000.0).abs() < 1e-6);
        assert_eq!((figures.p50_us, figures.p99_us), (20.0, 40.0));
        assert_eq!(figures.wakeups_per_round_trip, 1.5);
        // One RST per round trip on each end.
        assert_eq!(figures.rsts_per_round_trip, 2.0);
    }

    #[test]
    fn passes_add_up() {
        let mut total = Run::default();
        total.merge(run(&[40, 20], 3, 2));
        total.merge(run(&[10, 30], 3, 2));
        // As if the four round trips had been one run.
        assert_eq!(
            Figures::new("raw", 12, &total),
            Figures::new("raw", 12, &run(&[40, 20, 10, 30], 6, 4))
        );
        assert_eq!(total.server_requests, 20);
    }

    #[test]
    fn json_has_every_field_and_the_ratio() {
        let all = [
            Figures::new("raw", 12, &run(&[20, 20], 2, 2)),
            Figures::new("kernel-tcp", 12, &run(&[10, 10], 2, 0)),
        ];
        let ratios = [Ratio {
            of: "raw",
            to: "kernel-tcp",
        }];
        assert_eq!(
            json_lines(&all, &ratios),
            "{\"echo\":\"raw\",\"payload_bytes\":12,\"round_trips\":2,\
             \"round_trips_per_s\":50000,\"p50_us\":20.0,\"p99_us\":20.0,\
             \"wakeups_per_round_trip\":1.00,\"rsts_per_round_trip\":2.00,\
             \"ratio_to_kernel_tcp\":0.50}\n\
             {\"echo\":\"kernel-tcp\",\"payload_bytes\":12,\"round_trips\":2,\
             \"round_trips_per_s\":100000,\"p50_us\":10.0,\"p99_us\":10.0,\
             \"wakeups_per_round_trip\":1.00,\"rsts_per_round_trip\":1.00}\n"
        );
    }

    #[test]
    fn the_table_lines_up_and_names_the_ratio() {
        let all = [
            Figures::new("raw", 12, &run(&[20, 20], 3, 2)),
            Figures::new("kernel-tcp", 12, &run(&[10, 10], 2, 0)),
        ];
        let row = table_row(&all[0]);
        assert_eq!(row.chars().count(), table_header().chars().count());
        assert_eq!(
            row,
            "raw                12 B           50000     20.0     20.0          1.50     2.00"
        );
        let ratios = [Ratio {
            of: "raw",
            to: "kernel-tcp",
        }];
        assert_eq!(
            ratio_lines(&all, &ratios),
            "raw / kernel-tcp (round trips/s): 0.50 at 12 B\n"
        );
        // A ratio with a missing side prints nothing.
        let missing = [Ratio {
            of: "raw-filtered",
            to: "raw",
        }];
        assert_eq!(ratio_lines(&all, &missing), "");
    }
}
