//! The echoes the bench measures, in the order of the table, and the ratios
//! it prints.

use support::Error;

use crate::figures::{Ratio, Run};
use crate::{kernel, raw};

/// Round trips run and not counted before each measurement: caches, the
/// scheduler's view of the two threads, the CPU's clock settle, and the
/// machines' buffers and tables reach their size.
pub const WARM_UP: u64 = 1000;
/// How many passes over all configurations a run makes, each measuring its
/// share of `--count` round trips of each: the configurations take turns, so
/// that a slower minute of a busy machine does not fall on one of them alone
/// and skew the ratios.
pub const PASSES: u64 = 5;

/// Measures one configuration: `warm_up` round trips of `size`-byte
/// payloads, then `count` more, counted.
pub type Measure = fn(size: usize, warm_up: u64, count: u64) -> Result<Run, Error>;

/// One echo the bench measures: a row of the table at each size.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Its short name, in the table and in the JSON: `raw`, `kernel-tcp`.
    pub name: &'static str,
    /// How to measure it.
    pub measure: Measure,
    /// Whether it can be measured on this machine, or why not (a program it
    /// needs is missing): a row that cannot is left out, with a note.
    pub available: fn() -> Result<(), String>,
}

/// For the rows that need nothing but the workbook.
fn always() -> Result<(), String> {
    Ok(())
}

// ANCHOR: rows
/// Every echo the bench measures, in the order of the table. A later step's
/// echo is one more row here, with the function that runs it through that
/// step's machines and loop, before the yardstick, which stays last.
pub const ROWS: &[Row] = &[
    Row {
        // Step 4's echo: its Server, Client and loop.
        name: "raw",
        measure: raw::unfiltered,
        available: always,
    },
    Row {
        // The same, each socket with step 5's BPF filter.
        name: "raw-filtered",
        measure: raw::filtered,
        available: always,
    },
    Row {
        // Step 4's echo again, with step 6's nft rule in the namespace: the
        // kernel's RSTs never leave.
        name: "raw-silenced",
        measure: raw::silenced,
        available: raw::nft_installed,
    },
    Row {
        // The kernel's TCP: SOCK_STREAM on 127.0.0.1, TCP_NODELAY.
        name: "kernel-tcp",
        measure: kernel::run,
        available: always,
    },
];

/// The yardstick: every other row's ratio to it is printed.
pub const YARDSTICK: &str = "kernel-tcp";

/// The ratios printed besides those to the yardstick: what the filter is
/// worth, and what the rule is.
pub const RATIOS: &[Ratio] = &[
    Ratio {
        of: "raw-filtered",
        to: "raw",
    },
    Ratio {
        of: "raw-silenced",
        to: "raw",
    },
];
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
