//! The command line: the demo's options, checked before anything is opened.
//!
//! The options (`--count`, `--interval`, `--timeout`, ...) are step 4's and
//! mean what they mean there: step 4's parser reads them. This module only
//! makes sure nothing else is given, since this program has no server or
//! client mode.

use std::ffi::OsString;
use std::path::PathBuf;
use step_02_bind_connect::{CLIENT, SERVER};

use step_04_echo::args::{self as echo_args, Given, Mode};
use step_04_echo::{ClientConfig, UsageError};

/// The first lines of [`USAGE`], printed after a usage error.
pub const SYNOPSIS: &str = "\
usage: step-05-bpf-filter [--count N] [--interval T] [--timeout T] [--tries N]
                          [--pcap FILE] [-v]
       step-05-bpf-filter --help";

/// The text `--help` prints (after [`SYNOPSIS`]).
pub const USAGE: &str = "\
Step 4's echo, with a classic BPF filter attached to each raw socket: the
kernel runs the filter on every segment before queueing it, so each side reads
only its peer's data segments. The kernel's RSTs, our own segments and anybody
else's traffic are dropped before they can wake the program up.

The demo enters a private network namespace (a user namespace too, when
needed: no sudo), prints the server's filter as an annotated listing, and runs
both sides in one process: the server at 127.0.0.1:50000, the client at
127.0.0.2:50001. Next to each filtered socket it keeps a witness, a second raw
socket bound and connected alike but without a filter, and at the end it
prints what each witness read: what the filter kept away.

options (the client's, as in step 4's demo):
  --count N       requests to send (default: 5)
  --interval T    time between requests (default: 100ms); 0: each request as
                  soon as the one before is answered (ping-pong)
  --timeout T     how long to wait for a reply before sending the request
                  again (default: 1s); each further wait is twice as long
  --tries N       how many times a request is sent in all before its reply is
                  reported lost (default: 4)
  T is a whole number of milliseconds, or ends in ms or s: 250, 250ms, 2s.
  --pcap FILE     write every packet the witnesses read (what lo carried
                  between the ends, the kernel's RSTs too: what the filtered
                  sockets would have read without the filter) to FILE as pcap
                  with link type 101 (LINKTYPE_RAW: IPv4 header first), in
                  the order they arrived, for Wireshark or `tshark -r FILE`;
                  FILE is created before anything is sent (exit status 1 if
                  it cannot be)
  -v, --verbose   also print every segment ignored, with the reason (with the
                  filter in place there should be none)
  -h, --help      this text

What the filter is worth in time, next to step 4's echo and the kernel's TCP,
is measured by the workspace's bench: cargo run --release -p workbook-bench

examples:
  cargo run -p step-05-bpf-filter -- --count 3";

// ANCHOR: command
/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`].
    Help,
    /// Both sides, filtered, in a private network namespace.
    Demo {
        /// The client's pacing and bounds.
        client: ClientConfig,
        /// Print ignored segments too.
        verbose: bool,
        /// Where to write what the witnesses read, if anywhere.
        pcap: Option<PathBuf>,
    },
}
// ANCHOR_END: command

/// Step 4's options for its server and client modes: the demo's ends are
/// fixed.
const ENDPOINTS: [&str; 4] = ["--addr", "--port", "--peer", "--peer-port"];

/// Parses the arguments after the program's name: options only, whose values
/// step 4's parser checks.
pub fn parse<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // Step 4's options, as step 4 reads them: only the values are left to
    // check, by step 4's parser below. An unknown option is its first error.
    let given = Given::collect(args.iter().cloned())?;
    if let Some(word) = given.words.first() {
        return Err(UsageError(format!(
            "unexpected argument {word:?}: this program runs the demo and takes \
             options only"
        )));
    }
    if let Some(name) = given.first_given(&ENDPOINTS) {
        return Err(UsageError(format!(
            "{name}: the demo's ends are fixed, {SERVER} and {CLIENT}"
        )));
    }
    match echo_args::parse(args)? {
        (Mode::Help, _) => Ok(Command::Help),
        (Mode::Demo { client, verbose }, pcap) => Ok(Command::Demo {
            client,
            verbose,
            pcap,
        }),
        // Only a mode word leads there, and none got past the check above.
        (Mode::Server { .. } | Mode::Client { .. }, _) => Err(UsageError(
            "this program has no server or client mode".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn demo(args: &[&str]) -> (ClientConfig, bool) {
        match parse(args.iter().copied()) {
            Ok(Command::Demo {
                client, verbose, ..
            }) => (client, verbose),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match parse(args.iter().copied()) {
            Err(UsageError(message)) => message,
            other => panic!("{args:?} parsed: {other:?}"),
        }
    }

    #[test]
    fn the_demo_has_step_4s_defaults() {
        let (client, verbose) = demo(&[]);
        assert_eq!(client.count, Some(5));
        assert_eq!(client.interval, Duration::from_millis(100));
        assert_eq!(client.timeout, Duration::from_secs(1));
        assert_eq!(client.tries, 4);
        assert!(!verbose);
    }

    #[test]
    fn the_demo_options_are_step_4s() {
        let (client, verbose) = demo(&[
            "--count",
            "3",
            "--interval=20ms",
            "--timeout",
            "2s",
            "--tries",
            "1",
            "-v",
        ]);
        assert_eq!(client.count, Some(3));
        assert_eq!(client.interval, Duration::from_millis(20));
        assert_eq!(client.timeout, Duration::from_secs(2));
        assert_eq!(client.tries, 1);
        assert!(verbose);
        assert!(demo(&["--interval", "0"]).0.ping_pong());
        assert_eq!(parse(["--help"]), Ok(Command::Help));
        assert_eq!(parse(["--count", "2", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn anything_else_is_a_usage_error() {
        assert_eq!(
            error(&["server"]),
            "unexpected argument \"server\": this program runs the demo and takes \
             options only"
        );
        assert_eq!(
            error(&["--addr", "127.0.0.1"]),
            "--addr: the demo's ends are fixed, 127.0.0.1:50000 and 127.0.0.2:50001"
        );
        assert_eq!(
            error(&["--peer=127.0.0.3"]),
            "--peer: the demo's ends are fixed, 127.0.0.1:50000 and 127.0.0.2:50001"
        );
        assert_eq!(error(&["--bogus", "1"]), "unknown option \"--bogus\"");
        assert_eq!(
            error(&["--count", "3", "extra"]),
            "unexpected argument \"extra\": this program runs the demo and takes \
             options only"
        );
        assert_eq!(
            error(&["--count", "0"]),
            "--count: \"0\" is not a whole number of at least 1"
        );
        assert_eq!(error(&["--interval"]), "--interval needs a value");
        assert_eq!(error(&["--pcap"]), "--pcap needs a file name");
    }

    #[test]
    fn pcap_names_the_file_for_the_witnesses_reads() {
        let pcap = |args: &[&str]| match parse(args.iter().copied()) {
            Ok(Command::Demo { pcap, .. }) => pcap,
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(pcap(&[]), None);
        assert_eq!(
            pcap(&["--count", "2", "--pcap", "echo.pcap"]),
            Some(PathBuf::from("echo.pcap"))
        );
        assert_eq!(pcap(&["--pcap=a b.pcap"]), Some(PathBuf::from("a b.pcap")));
    }
}
