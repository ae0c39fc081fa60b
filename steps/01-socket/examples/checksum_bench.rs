//! How fast the workbook's checksum adds bytes up: `checksum::sum` over a
//! 1500-byte buffer (an Ethernet-sized packet) and a 64 KiB one (the largest
//! segment on `lo`), in GB/s (10^9 bytes per second), next to the plain
//! 16-bit loop that defines the sum.
//!
//! ```text
//! cargo run --release -p step-01-socket --example checksum_bench -- [--json]
//! ```
//!
//! A measurement, not a test: the figure depends on the machine and on what
//! else runs on it, so each size is measured in several rounds and the median
//! is printed. Build it with `--release`: a debug build is many times slower
//! and says nothing about the code.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use step_01_socket::checksum::{fold, sum};

/// The buffer sizes measured: one Ethernet MTU, and the largest IPv4 packet
/// `lo` carries.
const SIZES: [usize; 2] = [1500, 64 * 1024];

/// Rounds per size and function; the median is printed.
const ROUNDS: usize = 5;

/// How long one round sums.
const ROUND: Duration = Duration::from_millis(100);

const USAGE: &str = "\
usage: checksum_bench [--json]
  --json   one JSON object per size, one per line: size_bytes, sum_gb_per_s
           (checksum::sum), definition_gb_per_s (the plain 16-bit loop)

Prints, for each size, how many bytes per second checksum::sum adds up, and
the same for the plain loop over big-endian 16-bit words that defines the sum.
Each figure is the median of 5 rounds of 100 ms.";

/// The definition: big-endian 16-bit words, an odd last byte padded with a
/// zero, added into a wide accumulator. What `sum` computes, one word at a
/// time.
fn by_the_book(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    let mut acc: u64 = 0;
    for word in &mut words {
        acc += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = match args.as_slice() {
        [] => false,
        [flag] if flag == "--json" => true,
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("error: unexpected arguments {args:?}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "note: a debug build; run with --release for figures that mean something"
        );
    }
    if !json {
        println!(
            "checksum: GB/s (10^9 bytes per second), \
             median of {ROUNDS} rounds of 100 ms"
        );
        println!(
            "{:>8}  {:>15}  {:>28}",
            "size", "checksum::sum", "16-bit loop (the definition)"
        );
    }
    for size in SIZES {
        // Bytes that are not all alike, so that no shortcut could pay off.
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + i / 251) as u8).collect();
        // Both must agree, or the figures compare different things.
        if fold(sum(&data)) != fold(by_the_book(&data)) {
            eprintln!(
                "error: checksum::sum and the definition disagree at {size} bytes"
            );
            return ExitCode::FAILURE;
        }
        let fast = median_rate(&data, sum);
        let plain = median_rate(&data, by_the_book);
        if json {
            println!(
                "{{\"size_bytes\":{size},\"sum_gb_per_s\":{fast:.1},\
                 \"definition_gb_per_s\":{plain:.1}}}"
            );
        } else {
            println!("{size:>6} B  {fast:>10.1} GB/s  {plain:>23.1} GB/s");
        }
    }
    ExitCode::SUCCESS
}

/// GB/s of `function` over `data`: the median of [`ROUNDS`] rounds.
fn median_rate(data: &[u8], function: fn(&[u8]) -> u64) -> f64 {
    // Warm up: page faults, caches, the CPU's clock.
    for _ in 0..100 {
        black_box(function(black_box(data)));
    }
    let mut rates: Vec<f64> = (0..ROUNDS).map(|_| rate(data, function)).collect();
    rates.sort_by(f64::total_cmp);
    rates[ROUNDS / 2]
}

/// GB/s of `function` over `data`, summed over and over for one [`ROUND`].
fn rate(data: &[u8], function: fn(&[u8]) -> u64) -> f64 {
    // Whole batches of about 1 MiB, so that reading the clock costs nothing.
    let batch = (1 << 20) / data.len() + 1;
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed() < ROUND {
        for _ in 0..batch {
            black_box(function(black_box(data)));
        }
        bytes += (batch * data.len()) as u64;
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e9
}
