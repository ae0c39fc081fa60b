//! The bench's command line.

use std::path::PathBuf;

use lexopt::Arg::{Long, Short, Value};
use support::args::{self, UsageError};

/// Round trips measured per configuration unless `--count` says otherwise.
pub const DEFAULT_COUNT: u64 = 100_000;
/// The most `--count` accepts: each round trip's time is kept (4 bytes each).
pub const MAX_COUNT: u64 = 10_000_000;

/// The first lines of [`USAGE`], printed after a usage error.
pub const SYNOPSIS: &str = "\
usage: workbook-bench [--count N] [--no-pin] [--json] [--svg FILE]
       workbook-bench --help";

/// The text `--help` prints (after [`SYNOPSIS`]).
pub const USAGE: &str = "\
What a round trip of each of the workbook's echoes costs, next to the
kernel's own TCP doing the same echo, measured in one run, in a private
network namespace of its own (no sudo). Each echo runs as the learner runs
it: step 4's Server and Client machines in step 4's loop, with nothing
printed; the server on a thread, the client on this one, one request in
flight. The echoes, each with 12-byte and 1400-byte payloads:
  raw            step 4's echo
  raw-filtered   the same, each socket with step 5's BPF filter
  raw-silenced   step 4's echo with step 6's nftables rule: the kernel's
                 RSTs are dropped before they leave (needs nft)
  kernel-tcp     the kernel's TCP: SOCK_STREAM on 127.0.0.1, epoll,
                 TCP_NODELAY
For each it prints round trips per second, the 50th and 99th percentile of
one round trip's time in microseconds, the client's wake-ups (epoll_wait
returns) per round trip, and the RSTs read by both ends' raw sockets per
round trip; then the ratios of round trips per second from the same run.
Build it with --release: a debug build measures the compiler, not the echo.

options:
  --count N       round trips measured per configuration (default 100000,
                  at most 10000000), after 1000 that are not counted
  --no-pin        let the scheduler place the two ends; by default both run
                  on one CPU (on a virtual machine a wake-up that crosses
                  CPUs can cost more than a whole round trip)
  --json          one JSON object per configuration, one per line
                  (JSON Lines), with the fields echo, payload_bytes,
                  round_trips, round_trips_per_s, p50_us, p99_us,
                  wakeups_per_round_trip, rsts_per_round_trip, and the
                  ratios: ratio_to_kernel_tcp on every other echo,
                  ratio_to_raw on raw-filtered and raw-silenced
  --svg FILE      also draw the round trips per second as a bar chart, an
                  SVG file (the book's chart is made so)
  -h, --help      this text

examples:
  cargo run --release -p workbook-bench
  cargo run --release -p workbook-bench -- --json
  cargo run --release -p workbook-bench -- --svg book/src/img/bench.svg";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Measure.
    Bench(Options),
}

/// The bench's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Round trips measured per configuration.
    pub count: u64,
    /// Both ends on one CPU (the default), or wherever the scheduler likes.
    pub pin: bool,
    /// One JSON object per configuration instead of the table.
    pub json: bool,
    /// Where to draw the chart, if anywhere.
    pub svg: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            count: DEFAULT_COUNT,
            pin: true,
            json: false,
            svg: None,
        }
    }
}

/// Parses the arguments after the program's name.
pub fn parse<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<std::ffi::OsString>,
{
    let mut options = Options::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("no-pin") => options.pin = false,
            Long("json") => options.json = true,
            Long("count") => {
                let value = args::value(&mut parser, "--count")?;
                options.count = args::number("--count", &value, 1, MAX_COUNT)?;
            }
            Long("svg") => {
                let value = args::value(&mut parser, "--svg")?;
                options.svg = Some(PathBuf::from(value));
            }
            Value(word) => {
                return Err(UsageError(format!(
                    "unexpected argument {:?}: it takes options only",
                    word.to_string_lossy()
                )));
            }
            other => return Err(args::unexpected(other)),
        }
    }
    Ok(Command::Bench(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Command {
        parse(line.split_whitespace()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    fn error(line: &str) -> String {
        match parse(line.split_whitespace()) {
            Ok(command) => panic!("{line:?} parsed as {command:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn options_and_their_defaults() {
        assert_eq!(parsed(""), Command::Bench(Options::default()));
        assert_eq!(
            Options::default(),
            Options {
                count: 100_000,
                pin: true,
                json: false,
                svg: None
            }
        );
        assert_eq!(
            parsed("--count 200 --no-pin --json --svg=/tmp/b.svg"),
            Command::Bench(Options {
                count: 200,
                pin: false,
                json: true,
                svg: Some(PathBuf::from("/tmp/b.svg")),
            })
        );
        assert_eq!(parsed("--count=7 -h"), Command::Help);
    }

    #[test]
    fn what_it_does_not_take_is_refused_in_words() {
        assert_eq!(
            error("--count 0"),
            r#"--count: "0" is not a whole number from 1 to 10000000"#
        );
        assert_eq!(
            error("--count 10000001"),
            r#"--count: "10000001" is not a whole number from 1 to 10000000"#
        );
        assert_eq!(error("--count"), "--count needs a value");
        assert_eq!(error("--svg"), "--svg needs a value");
        assert_eq!(error("--interval 0"), r#"unknown option "--interval""#);
        assert_eq!(error("-x"), r#"unknown option "-x""#);
        assert_eq!(error("--json=yes"), "--json takes no value");
        assert_eq!(
            error("raw"),
            r#"unexpected argument "raw": it takes options only"#
        );
    }
}
