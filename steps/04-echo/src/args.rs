//! The echo's command line: its modes and options, and the checks across
//! them, into a [`Mode`] or a [`UsageError`].
//!
//! The splitting into options, values and words is lexopt's, and the checks
//! of a port, a count or a duration are `support::args`'s; what the options
//! mean, which mode takes which, and that an address must be loopback, are
//! here.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use lexopt::Arg::{Long, Short, Value};
use step_02_bind_connect::{CLIENT, SERVER};
use support::args;
pub use support::args::UsageError;

use crate::protocol::ClientConfig;

/// The first lines of [`USAGE`], printed after a usage error.
pub const SYNOPSIS: &str = "\
usage: step-04-echo [--count N] [--interval T] [--timeout T] [--tries N] [-v]
       step-04-echo server [ADDR] [--addr A] [--port P] [--peer A] [--peer-port P] [-v]
       step-04-echo client [ADDR] [--addr A] [--port P] [--peer A] [--peer-port P]
                           [--count N] [--interval T] [--timeout T] [--tries N] [-v]
       step-04-echo --help";

/// The text `--help` prints (after [`SYNOPSIS`]).
pub const USAGE: &str = "\
The tutorial's echo over raw TCP sockets: the client sends \"Hello server\" in
hand-built PSH|ACK segments, the server answers each with \"Hello client\".

With no mode, a self-contained demo: it enters a private network namespace
(a user namespace too, when needed: no sudo) and runs both sides in one process,
the server at 127.0.0.1:50000 and the client at 127.0.0.2:50001.

`server` and `client` run one side each in the CURRENT network namespace, as in
the tutorial's two terminals, until Ctrl+C (the client: or until --count
requests are done). A raw socket there sees every TCP segment of that
namespace: this needs CAP_NET_RAW (root), and a private namespace is the safe
place for it (see the examples).

Each side names its own end with --addr/--port and the other end with
--peer/--peer-port. ADDR is the server's address (default 127.0.0.1):
`server ADDR` means `server --addr ADDR`, `client ADDR` means
`client --peer ADDR`. Only 127.0.0.0/8 is accepted: loopback never leaves the
machine.

options for server and client:
  --addr A        this side's address      (default: ADDR)
  --port P        this side's port         (default: server 50000, client 50001)
  --peer A        the other side's address (default: ADDR)
  --peer-port P   the other side's port    (default: server 50001, client 50000)
options for the client and the demo:
  --count N       requests to send (demo: 5; client: until Ctrl+C)
  --interval T    time between requests (demo: 100ms; client: 1s); 0: each
                  request as soon as the one before is answered (ping-pong)
  --timeout T     how long to wait for a reply before sending the request
                  again (1s); each further wait is twice as long, up to 8x
  --tries N       how many times a request is sent in all before its reply
                  is reported lost (4, so 1s+2s+4s+8s = 15s at most; 1-100)
  T is a whole number of milliseconds, or ends in ms or s: 250, 250ms, 2s.
options for all:
  -v, --verbose   also print every segment ignored, with the reason
  -h, --help      this text

examples:
  cargo run -p step-04-echo                      # the demo
  cargo run -p step-04-echo -- --count 3 -v      # the demo, with the RSTs shown
  # the tutorial's two terminals, as root in the current namespace
  # (as root already: cargo run -p step-04-echo -- server 127.0.0.1):
  sudo ./target/debug/step-04-echo server 127.0.0.1
  sudo ./target/debug/step-04-echo client 127.0.0.1
  # different addresses for the two ends:
  sudo ./target/debug/step-04-echo server 127.0.0.1 --peer 127.0.0.2
  sudo ./target/debug/step-04-echo client 127.0.0.1 --addr 127.0.0.2
  # both in one private namespace, no sudo:
  unshare --user --map-root-user --net sh -c 'ip link set lo up
      ./target/debug/step-04-echo server & sleep 0.2
      ./target/debug/step-04-echo client --count 3; kill -INT $!; wait'";

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Print [`USAGE`].
    Help,
    /// Both sides in one process, in a private network namespace.
    Demo {
        /// The client's pacing and bounds.
        client: ClientConfig,
        /// Print ignored segments too.
        verbose: bool,
    },
    /// The server side alone, in the current namespace.
    Server {
        /// The server's address and port.
        me: SocketAddrV4,
        /// The client's.
        peer: SocketAddrV4,
        /// Print ignored segments too.
        verbose: bool,
    },
    /// The client side alone, in the current namespace.
    Client {
        /// The client's address and port.
        me: SocketAddrV4,
        /// The server's.
        peer: SocketAddrV4,
        /// Pacing and bounds.
        client: ClientConfig,
        /// Print ignored segments too.
        verbose: bool,
    },
}

/// The demo's and the client's defaults.
pub const DEMO_COUNT: u64 = 5;
/// The demo's time between requests.
pub const DEMO_INTERVAL: Duration = Duration::from_millis(100);
/// The client's time between requests.
pub const CLIENT_INTERVAL: Duration = Duration::from_secs(1);
/// How long a reply may take before the request is sent again.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// How many times a request is sent, in all, before it is given up.
pub const TRIES: u32 = 4;
/// The most tries `--tries` accepts.
pub const MAX_TRIES: u32 = 100;
/// The longest interval or timeout accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// The options of the demo, `server` and `client` that take a value (which
/// of them applies to which mode, [`parse`] checks). Besides them: `--help`
/// (`-h`), `--verbose` (`-v`) and `--pcap FILE`.
pub const WITH_VALUE: [&str; 8] = [
    "--addr",
    "--port",
    "--peer",
    "--peer-port",
    "--count",
    "--interval",
    "--timeout",
    "--tries",
];

/// The command line as given, before any value is checked: the switches,
/// each option's value (the last, if one is given twice), `--pcap`'s file,
/// and the words, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given {
    help: bool,
    verbose: bool,
    values: Vec<(&'static str, String)>,
    pcap: Option<PathBuf>,
    /// The words, in the order given.
    pub words: Vec<String>,
}

impl Given {
    /// Goes through the arguments with lexopt. Only the options' names are
    /// checked here: an unknown one, or one without its value, is the first
    /// usage error.
    pub fn collect<I>(args: I) -> Result<Given, UsageError>
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        let mut parser = lexopt::Parser::from_args(args);
        let mut given = Given::default();
        while let Some(arg) = parser.next()? {
            match arg {
                Short('h') | Long("help") => given.help = true,
                Short('v') | Long("verbose") => given.verbose = true,
                Long("pcap") => {
                    // None, or not text: no file name either way.
                    let file =
                        args::value(&mut parser, "--pcap").unwrap_or_default();
                    given.pcap(file)?;
                }
                Long(name) => {
                    let known =
                        WITH_VALUE.iter().find(|option| option[2..] == *name);
                    let Some(&option) = known else {
                        return Err(args::unexpected(Long(name)));
                    };
                    let value = args::value(&mut parser, option)?;
                    given.values.push((option, value));
                }
                Value(word) => given.words.push(word.to_string_lossy().into_owned()),
                other => return Err(args::unexpected(other)),
            }
        }
        Ok(given)
    }

    fn pcap(&mut self, file: String) -> Result<(), UsageError> {
        if file.is_empty() {
            return Err(usage("--pcap needs a file name"));
        }
        if self.pcap.replace(PathBuf::from(file)).is_some() {
            return Err(usage("--pcap is given twice: give it once"));
        }
        Ok(())
    }

    /// The value of the option `name`, the last one given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(given, _)| *given == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first of `names` that was given a value, in the order of `names`.
    pub fn first_given<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .copied()
            .find(|name| self.value(name).is_some())
    }

    /// The file `--pcap` names, if it is given.
    pub fn pcap_file(&self) -> Option<&PathBuf> {
        self.pcap.as_ref()
    }
}

// ANCHOR: parse_addr
fn parse_addr(option: &str, value: &str) -> Result<Ipv4Addr, UsageError> {
    let addr: Ipv4Addr = value.parse().map_err(|_| {
        usage(format!(
            "{option}: {value:?} is not an IPv4 address (like 127.0.0.1)"
        ))
    })?;
    if !addr.is_loopback() {
        return Err(usage(format!(
            "{option}: {addr} is not a loopback address: this workbook sends only \
             within 127.0.0.0/8, which never leaves the machine"
        )));
    }
    Ok(addr)
}
// ANCHOR_END: parse_addr

/// `--interval`: a duration, or 0 for ping-pong.
fn parse_interval(value: &str) -> Result<Duration, UsageError> {
    if ["0", "0ms", "0s"].contains(&value) {
        return Ok(Duration::ZERO);
    }
    args::duration("--interval", value, MAX_DURATION)
}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Demo,
    Server,
    Client,
}

/// Parses the arguments after the program's name: the mode, and the file
/// `--pcap` names if it is given.
///
/// `server ADDR` serves at ADDR:50000 for a client at ADDR:50001; `client ADDR`
/// talks from ADDR:50001 to the server at ADDR:50000. Every address and port can
/// be set on its own; the two ends must differ in address or port.
pub fn parse<I>(args: I) -> Result<(Mode, Option<PathBuf>), UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let mut args = args.into_iter().map(Into::into).peekable();
    let which = match args.peek().and_then(|first| first.to_str()) {
        Some("server") => Which::Server,
        Some("client") => Which::Client,
        Some("demo") => Which::Demo,
        Some(word) if !word.starts_with('-') => {
            return Err(usage(format!(
                "unknown mode {word:?}: expected server, client, or none \
                 (the demo)"
            )));
        }
        // No mode word: the demo, perhaps with options.
        _ => {
            let given = Given::collect(args)?;
            let pcap = given.pcap.clone();
            return Ok((finish(Which::Demo, given)?, pcap));
        }
    };
    args.next();
    let given = Given::collect(args)?;
    let pcap = given.pcap.clone();
    Ok((finish(which, given)?, pcap))
}

/// The client's pacing and bounds, from the options or the defaults.
fn client_config(
    given: &Given,
    count: Option<u64>,
    interval: Duration,
) -> Result<ClientConfig, UsageError> {
    Ok(ClientConfig {
        count: match given.value("--count") {
            Some(n) => Some(args::number_at_least("--count", n, 1)?),
            None => count,
        },
        interval: match given.value("--interval") {
            Some(t) => parse_interval(t)?,
            None => interval,
        },
        timeout: match given.value("--timeout") {
            Some(t) => args::duration("--timeout", t, MAX_DURATION)?,
            None => TIMEOUT,
        },
        tries: match given.value("--tries") {
            // At most MAX_TRIES: it fits.
            Some(n) => args::number("--tries", n, 1, MAX_TRIES.into())? as u32,
            None => TRIES,
        },
    })
}

fn finish(which: Which, given: Given) -> Result<Mode, UsageError> {
    if given.help {
        return Ok(Mode::Help);
    }
    let verbose = given.verbose;
    if let Some(arg) = given.words.get(1) {
        return Err(usage(format!("unexpected argument {arg:?}")));
    }
    let positional = given.words.first();
    match which {
        Which::Demo => {
            if let Some(arg) = positional {
                return Err(usage(format!(
                    "unexpected argument {arg:?}: the demo takes no address \
                     (did you mean `server {arg}` or `client {arg}`?)"
                )));
            }
            let endpoint =
                given.first_given(&["--addr", "--port", "--peer", "--peer-port"]);
            if let Some(option) = endpoint {
                return Err(usage(format!(
                    "{option} applies to server and client; the demo always uses \
                     {SERVER} and {CLIENT}"
                )));
            }
            let client = client_config(&given, Some(DEMO_COUNT), DEMO_INTERVAL)?;
            return Ok(Mode::Demo { client, verbose });
        }
        Which::Server => {
            let client_only = given.first_given(&[
                "--count",
                "--interval",
                "--timeout",
                "--tries",
            ]);
            if let Some(option) = client_only {
                return Err(usage(format!(
                    "{option} applies to the client and the demo, not the server"
                )));
            }
        }
        Which::Client => {}
    }
    // "me" and "peer" swap between the two modes; the server's end and the
    // client's end do not. The positional ADDR is the server's address.
    let ((server_addr, server_port), (client_addr, client_port)) = match which {
        Which::Server => (("--addr", "--port"), ("--peer", "--peer-port")),
        _ => (("--peer", "--peer-port"), ("--addr", "--port")),
    };
    if let (Some(positional), Some(option)) = (positional, given.value(server_addr))
    {
        return Err(usage(format!(
            "the server's address is given twice ({positional} and \
             {server_addr} {option}): give it once"
        )));
    }
    let server_ip = match positional.map(String::as_str).or(given.value(server_addr))
    {
        Some(value) => parse_addr(server_addr, value)?,
        None => *SERVER.ip(),
    };
    let client_ip = match given.value(client_addr) {
        Some(value) => parse_addr(client_addr, value)?,
        None => server_ip,
    };
    let server_port = match given.value(server_port) {
        Some(value) => args::port(server_port, value)?,
        None => SERVER.port(),
    };
    let client_port = match given.value(client_port) {
        Some(value) => args::port(client_port, value)?,
        None => CLIENT.port(),
    };
    let server = SocketAddrV4::new(server_ip, server_port);
    let client = SocketAddrV4::new(client_ip, client_port);
    if server == client {
        return Err(usage(format!(
            "the server and the client would both be {server}: give them \
             different ports (--port, --peer-port) or addresses"
        )));
    }
    Ok(match which {
        Which::Server => Mode::Server {
            me: server,
            peer: client,
            verbose,
        },
        _ => Mode::Client {
            me: client,
            peer: server,
            client: client_config(&given, None, CLIENT_INTERVAL)?,
            verbose,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn addr(text: &str) -> SocketAddrV4 {
        text.parse().unwrap()
    }

    fn parsed(line: &str) -> Mode {
        match parse(line.split_whitespace()) {
            Ok((mode, _)) => mode,
            Err(error) => panic!("{line:?}: {error}"),
        }
    }

    fn error(line: &str) -> String {
        match parse(line.split_whitespace()) {
            Ok(parsed) => panic!("{line:?} parsed as {parsed:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn no_arguments_is_the_demo() {
        let demo = ClientConfig {
            count: Some(5),
            interval: Duration::from_millis(100),
            timeout: Duration::from_secs(1),
            tries: 4,
        };
        let expected = Mode::Demo {
            client: demo,
            verbose: false,
        };
        assert_eq!(parsed(""), expected);
        assert_eq!(parsed("demo"), expected);
        assert_eq!(
            parsed("--count 3 --interval=20ms --timeout 2s --tries 2 -v"),
            Mode::Demo {
                client: ClientConfig {
                    count: Some(3),
                    interval: Duration::from_millis(20),
                    timeout: Duration::from_secs(2),
                    tries: 2,
                },
                verbose: true,
            }
        );
    }

    #[test]
    fn help_wins_anywhere() {
        assert_eq!(parsed("--help"), Mode::Help);
        assert_eq!(parsed("server 127.0.0.1 -h"), Mode::Help);
    }

    #[test]
    fn the_tutorials_two_terminals_share_an_address() {
        assert_eq!(
            parsed("server 127.0.0.1"),
            Mode::Server {
                me: addr("127.0.0.1:50000"),
                peer: addr("127.0.0.1:50001"),
                verbose: false,
            }
        );
        assert_eq!(
            parsed("client 127.0.0.1"),
            Mode::Client {
                me: addr("127.0.0.1:50001"),
                peer: addr("127.0.0.1:50000"),
                client: ClientConfig {
                    count: None,
                    interval: Duration::from_secs(1),
                    timeout: Duration::from_secs(1),
                    tries: 4,
                },
                verbose: false,
            }
        );
        // Without ADDR, 127.0.0.1.
        assert_eq!(parsed("server"), parsed("server 127.0.0.1"));
    }

    #[test]
    fn every_address_and_port_can_be_set() {
        assert_eq!(
            parsed("server 127.0.0.1 --peer 127.0.0.2 --port 7000 --peer-port 7001"),
            Mode::Server {
                me: addr("127.0.0.1:7000"),
                peer: addr("127.0.0.2:7001"),
                verbose: false,
            }
        );
        let Mode::Client { me, peer, .. } = parsed(
            "client --peer 127.0.0.1 --addr 127.0.0.2 --port 7001 --peer-port 7000",
        ) else {
            panic!("not a client");
        };
        assert_eq!((me, peer), (addr("127.0.0.2:7001"), addr("127.0.0.1:7000")));
        let Mode::Client { me, peer, .. } =
            parsed("client 127.0.0.3 --addr 127.0.0.4")
        else {
            panic!("not a client");
        };
        assert_eq!(
            (me, peer),
            (addr("127.0.0.4:50001"), addr("127.0.0.3:50000"))
        );
    }

    #[test]
    fn the_client_takes_a_count() {
        let Mode::Client { client, .. } = parsed("client --count 7 --interval 250")
        else {
            panic!("not a client");
        };
        assert_eq!(client.count, Some(7));
        assert_eq!(client.interval, Duration::from_millis(250));
    }

    #[test]
    fn an_interval_of_zero_is_ping_pong() {
        for zero in ["0", "0ms", "0s"] {
            let Mode::Client { client, .. } =
                parsed(&format!("client --interval {zero}"))
            else {
                panic!("not a client");
            };
            assert!(client.ping_pong(), "{zero}");
        }
        // A timeout of zero would resend at once, for ever: refused.
        assert_eq!(
            error("client --interval 0 --timeout 0"),
            r#"--timeout: "0" is out of range (1ms to 3600s)"#
        );
    }

    #[test]
    fn tries_are_1_to_100() {
        let Mode::Client { client, .. } = parsed("client --tries 8 --timeout 50ms")
        else {
            panic!("not a client");
        };
        assert_eq!(client.tries, 8);
        assert_eq!(client.timeout, Duration::from_millis(50));
        for bad in ["0", "101", "-1", "many"] {
            assert_eq!(
                error(&format!("--tries {bad}")),
                format!("--tries: {bad:?} is not a whole number from 1 to 100")
            );
        }
        assert_eq!(
            error("server --tries 3"),
            "--tries applies to the client and the demo, not the server"
        );
    }

    #[test]
    fn addresses_must_be_ipv4_loopback() {
        assert_eq!(
            error("server abc"),
            r#"--addr: "abc" is not an IPv4 address (like 127.0.0.1)"#
        );
        assert_eq!(
            error("client ::1"),
            r#"--peer: "::1" is not an IPv4 address (like 127.0.0.1)"#
        );
        assert_eq!(
            error("server 10.0.0.1"),
            "--addr: 10.0.0.1 is not a loopback address: this workbook sends only \
             within 127.0.0.0/8, which never leaves the machine"
        );
        assert_eq!(
            error("client 8.8.8.8"),
            "--peer: 8.8.8.8 is not a loopback address: this workbook sends only \
             within 127.0.0.0/8, which never leaves the machine"
        );
        assert!(
            error("client 127.0.0.1 --addr 192.168.1.1")
                .starts_with("--addr: 192.168.1.1")
        );
        assert!(
            error("server --peer 0.0.0.0").starts_with("--peer: 0.0.0.0 is not")
        );
    }

    #[test]
    fn ports_must_be_1_to_65535() {
        assert_eq!(
            error("server --port 0"),
            r#"--port: "0" is not a port (1-65535)"#
        );
        assert_eq!(
            error("client --peer-port 70000"),
            r#"--peer-port: "70000" is not a port (1-65535)"#
        );
        assert_eq!(
            error("server --peer-port=-1"),
            r#"--peer-port: "-1" is not a port (1-65535)"#
        );
    }

    #[test]
    fn the_two_ends_must_differ() {
        assert_eq!(
            error("server 127.0.0.1 --peer-port 50000"),
            "the server and the client would both be 127.0.0.1:50000: give them \
             different ports (--port, --peer-port) or addresses"
        );
        assert_eq!(
            error("client 127.0.0.1 --port 50000"),
            "the server and the client would both be 127.0.0.1:50000: give them \
             different ports (--port, --peer-port) or addresses"
        );
    }

    #[test]
    fn counts_and_durations_are_checked() {
        assert_eq!(
            error("--count 0"),
            r#"--count: "0" is not a whole number of at least 1"#
        );
        assert_eq!(
            error("client --count many"),
            r#"--count: "many" is not a whole number of at least 1"#
        );
        assert_eq!(
            error("--interval 2h"),
            r#"--interval: "2h" is not a duration (like 250, 250ms or 2s)"#
        );
        assert_eq!(
            error("--timeout 0ms"),
            r#"--timeout: "0ms" is out of range (1ms to 3600s)"#
        );
        assert_eq!(
            error("client --timeout 3601s"),
            r#"--timeout: "3601s" is out of range (1ms to 3600s)"#
        );
        assert_eq!(
            error("--interval 99999999999999999999s"),
            r#"--interval: "99999999999999999999s" is not a duration (like 250, 250ms or 2s)"#
        );
    }

    #[test]
    fn options_belong_to_their_modes() {
        assert_eq!(
            error("server --count 3"),
            "--count applies to the client and the demo, not the server"
        );
        assert_eq!(
            error("server --timeout 1s"),
            "--timeout applies to the client and the demo, not the server"
        );
        assert_eq!(
            error("--addr 127.0.0.1"),
            "--addr applies to server and client; the demo always uses \
             127.0.0.1:50000 and 127.0.0.2:50001"
        );
        assert_eq!(
            error("demo 127.0.0.1"),
            r#"unexpected argument "127.0.0.1": the demo takes no address (did you mean `server 127.0.0.1` or `client 127.0.0.1`?)"#
        );
    }

    #[test]
    fn malformed_command_lines() {
        assert_eq!(
            error("serve"),
            r#"unknown mode "serve": expected server, client, or none (the demo)"#
        );
        assert_eq!(error("server --bogus"), r#"unknown option "--bogus""#);
        assert_eq!(error("server --port"), "--port needs a value");
        assert_eq!(error("client a b"), r#"unexpected argument "b""#);
        assert_eq!(
            error("server 127.0.0.1 --addr 127.0.0.2"),
            "the server's address is given twice (127.0.0.1 and --addr 127.0.0.2): \
             give it once"
        );
        assert_eq!(
            error("client 127.0.0.1 --peer 127.0.0.1"),
            "the server's address is given twice (127.0.0.1 and --peer 127.0.0.1): \
             give it once"
        );
    }

    #[test]
    fn pcap_is_taken_with_any_mode() {
        let pcap = |line: &str| parse(line.split_whitespace()).map(|(_, pcap)| pcap);
        assert_eq!(
            pcap("--pcap /tmp/e.pcap -v"),
            Ok(Some("/tmp/e.pcap".into()))
        );
        assert_eq!(
            pcap("client 127.0.0.1 --pcap=c.pcap --count 3"),
            Ok(Some("c.pcap".into()))
        );
        assert_eq!(pcap("server 127.0.0.1"), Ok(None));
        assert_eq!(parsed("--pcap e.pcap --count 3"), parsed("--count 3"));
    }

    #[test]
    fn pcap_needs_one_file_name() {
        assert_eq!(error("server --pcap"), "--pcap needs a file name");
        assert_eq!(error("--pcap="), "--pcap needs a file name");
        assert_eq!(
            error("--pcap a.pcap --pcap b.pcap"),
            "--pcap is given twice: give it once"
        );
        assert_eq!(error("--pcapx"), r#"unknown option "--pcapx""#);
    }
}
