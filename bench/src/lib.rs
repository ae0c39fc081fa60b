//! The workbook's bench: what a round trip of each echo costs, next to the
//! kernel's own TCP doing the same job, measured in one run on one machine.
//!
//! Each echo is measured as the learner runs it: step 4's `Server` and
//! `Client` machines, driven by step 4's `Echo` loop, with nothing printed
//! (see [`raw`]). Each configuration is one echo ([`ROWS`]) at one payload
//! size ([`SIZES`]). Both ends run in this process: the server on a thread of
//! its own, the client on the calling thread, each with its own epoll set, as
//! the tutorial's two terminals would. The client sends one request, waits
//! for its reply, and sends the next: one request in flight, so a round
//! trip's time is the latency of the whole path, user space, system calls,
//! `lo` and the scheduler included. The configurations take turns, in
//! [`PASSES`] passes.
//!
//! - [`figures`]: what is measured, and how it is printed: the table, JSON
//!   Lines, the ratios;
//! - [`raw`]: the raw echoes, through step 4's loop; [`kernel`]: the
//!   yardstick, a `SOCK_STREAM` echo on 127.0.0.1;
//! - [`chart`]: the figures as an SVG bar chart, for the book;
//! - [`options`]: the command line.

pub mod chart;
pub mod figures;
pub mod kernel;
pub mod options;
pub mod raw;

use std::time::Duration;

use support::Error;

use crate::figures::{Ratio, Run};

/// Round trips run and not counted before each measurement: caches, the
/// scheduler's view of the two threads, the CPU's clock settle, and the
/// machines' buffers and tables reach their size.
pub const WARM_UP: u64 = 1000;
/// How many passes over all configurations a run makes, each measuring its
/// share of `--count` round trips of each: the configurations take turns, so
/// that a slower minute of a busy machine does not fall on one of them alone
/// and skew the ratios.
pub const PASSES: u64 = 5;
/// The payload sizes measured: the tutorial's 12 bytes (`Hello server`), and
/// 1400, close to a full Ethernet-sized segment.
pub const SIZES: [usize; 2] = [12, 1400];
/// How long an end waits for the other without any progress before it gives
/// up: on `lo` with one request in flight, a reply takes microseconds.
pub const PATIENCE: Duration = Duration::from_secs(1);

/// Measures one configuration: `warm_up` round trips of `size`-byte
/// payloads, then `count` more, counted.
pub type Measure = fn(size: usize, warm_up: u64, count: u64) -> Result<Run, Error>;

/// One echo the bench measures: a row of the table at each size.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Its short name, in the table and in the JSON: `raw`, `kernel-tcp`.
    pub name: &'static str,
    /// What it is, in a few words, for `--help`.
    pub what: &'static str,
    /// How to measure it.
    pub measure: Measure,
}

// ANCHOR: rows
/// Every echo the bench measures, in the order of the table. A later step's
/// echo is one more row here, with the function that runs it through that
/// step's machines and loop (step 6's `raw-silenced` goes before the
/// yardstick, which stays last).
pub const ROWS: &[Row] = &[
    Row {
        name: "raw",
        what: "step 4's echo: its Server, Client and loop",
        measure: raw::unfiltered,
    },
    Row {
        name: "raw-filtered",
        what: "the same, each socket with step 5's BPF filter",
        measure: raw::filtered,
    },
    Row {
        name: "kernel-tcp",
        what: "the kernel's TCP: SOCK_STREAM on 127.0.0.1, TCP_NODELAY",
        measure: kernel::run,
    },
];

/// The yardstick: every other row's ratio to it is printed.
pub const YARDSTICK: &str = "kernel-tcp";

/// The ratios printed besides those to the yardstick: what the filter is
/// worth.
pub const RATIOS: &[Ratio] = &[Ratio {
    of: "raw-filtered",
    to: "raw",
}];
// ANCHOR_END: rows

/// Every ratio the bench prints: each row's to the yardstick, then [`RATIOS`].
pub fn ratios() -> Vec<Ratio> {
    let to_yardstick =
        ROWS.iter()
            .filter(|row| row.name != YARDSTICK)
            .map(|row| Ratio {
                of: row.name,
                to: YARDSTICK,
            });
    to_yardstick.chain(RATIOS.iter().copied()).collect()
}
