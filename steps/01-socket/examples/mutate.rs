//! The mutation test of `tests/mutations.rs`, at any size: every truncation of
//! four real packets, then COUNT seeded mutants (1 000 000 unless told), each
//! through everything a program does with the bytes of one read. Prints what
//! became of them and how fast it went.
//!
//! ```text
//! cargo run --release -p step-01-socket --example mutate -- [COUNT [SEED]]
//! ```
//!
//! A panic is a bug: the bytes that caused it are printed above its message.

// The same engine and packets as the test, not a copy of them.
#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/mutator/mod.rs"]
mod mutator;

use std::process::ExitCode;
use std::time::Instant;

/// Mutants run when no COUNT is given.
const DEFAULT_COUNT: u64 = 1_000_000;

const USAGE: &str = "usage: mutate [COUNT [SEED]]
  COUNT  mutants to run (default 1000000)
  SEED   the generator's seed, decimal or 0x hex (default 0x5eed0100)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (count, seed) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("mutate: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let tally = mutator::run(seed, count);
    let seconds = start.elapsed().as_secs_f64();
    print!("{}", tally.report());
    println!(
        "seed 0x{seed:x}: {} buffers in {seconds:.2} s, {:.0} per second, no panic",
        tally.runs,
        tally.runs as f64 / seconds
    );
    ExitCode::SUCCESS
}

/// COUNT and SEED from the command line, or what is wrong with them.
fn parse_args(args: &[String]) -> Result<(u64, u64), String> {
    let number = |text: &str, what: &str| {
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.replace('_', "").parse(),
        };
        parsed.map_err(|_| format!("{what} must be a number, got {text:?}"))
    };
    match args {
        [] => Ok((DEFAULT_COUNT, mutator::SEED)),
        [count] => Ok((number(count, "COUNT")?, mutator::SEED)),
        [count, seed] => Ok((number(count, "COUNT")?, number(seed, "SEED")?)),
        _ => Err(format!("expected at most 2 arguments, got {}", args.len())),
    }
}
