//! What is measured, per configuration, and how it is printed.
//!
//! - round trips per second, over the measured round trips;
//! - the 50th and 99th percentile of one round trip's time, from just before
//!   the request is built to the moment its reply has been checked;
//! - the client's wake-ups per round trip: `epoll_wait` returns that reported
//!   its socket readable;
//! - the RSTs that reached user space per round trip, both ends' sockets
//!   together: the kernel answers every hand-made segment with one (2.00 per
//!   round trip for the raw echo, 0 for the kernel's TCP).
//!
//! Wake-ups and RSTs are counts, not times: they are counted over every
//! round trip of a run, the warm-up's too.

use std::fmt::{self, Write as _};
use std::time::Duration;

use nix::errno::Errno;
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use step_01_socket::SysError;

/// The payload sizes measured: the tutorial's 12 bytes (`Hello server`), and
/// 1400, close to a full Ethernet-sized segment.
pub const SIZES: [usize; 2] = [12, 1400];

/// A ratio of round trips per second to print: `of` / `to`, at each size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// The variant on top.
    pub of: &'static str,
    /// The variant below.
    pub to: &'static str,
}

/// What one run of an echo counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    /// Each measured round trip's time, in nanoseconds, in order.
    pub latencies_ns: Vec<u32>,
    /// The time all measured round trips took together.
    pub elapsed: Duration,
    /// Every round trip the client made, warm-up included.
    pub round_trips: u64,
    /// `epoll_wait` returns that reported the client's socket readable.
    pub wakeups: u64,
    /// RSTs the client's socket read.
    pub client_rsts: u64,
    /// Requests the server answered.
    pub server_requests: u64,
    /// RSTs the server's socket read.
    pub server_rsts: u64,
}

impl Run {
    /// Adds `other`'s counts and round trips to this run's.
    pub fn merge(&mut self, other: Run) {
        self.latencies_ns.extend(other.latencies_ns);
        self.elapsed += other.elapsed;
        self.round_trips += other.round_trips;
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
    /// The row's name.
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
        let per = |n: u64| n as f64 / run.round_trips.max(1) as f64;
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
            round_trips: latencies_us.len() as u64,
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
