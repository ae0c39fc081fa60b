//! The command line, parsed by hand into a [`Mode`] or a `UsageError` (step
//! 4's, which `--pcap` shares).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use step_04_echo::UsageError;

use crate::tcb::Config;

/// The first lines of [`USAGE`], printed after a usage error.
pub const SYNOPSIS: &str = "\
usage: step-06-handshake [--pcap FILE] [-v]
       step-06-handshake client [ADDR] [--addr A] [--port P] [--peer-port P]
                                [--send TEXT] [--rto T] [--tries N] [--pcap FILE] [-v]
       step-06-handshake server [ADDR] [--port P] [--reply TEXT] [--count N]
                                [--rto T] [--tries N] [--pcap FILE] [-v]
       step-06-handshake --help";

/// The text `--help` prints (after [`SYNOPSIS`]).
pub const USAGE: &str = "\
A raw socket speaking TCP (RFC 9293) to the kernel's own TCP: the three-way
handshake, data both ways, resends, and an orderly close, every segment built
by hand. The kernel would reset each such connection: an nftables rule drops
its RSTs from the raw end's address and port (nft is needed: Debian package
nftables).

With no mode, a self-contained demo in a private network namespace (a user
namespace too, when needed: no sudo): (a) our client at 127.0.0.2:50001 talks
to a std::net::TcpListener at 127.0.0.1:50000, (b) a std::net::TcpStream at
127.0.0.2:50003 talks to our server at 127.0.0.1:50002. Exit status 0 when
both connections complete and no RST was seen.

`client` and `server` run our end alone in the CURRENT network namespace, and
install the nft rule there, for their own address and port: our end can then
talk to any TCP program. This needs CAP_NET_RAW and CAP_NET_ADMIN (root); a
private namespace is the safe place for it (scripts/netns.sh). Only
127.0.0.0/8 is accepted.

client: connects to ADDR (default 127.0.0.1) port --peer-port, sends TEXT,
  writes everything the peer sends to standard output as it comes, byte for
  byte, and closes once the peer has closed; what the connection does goes to
  standard error. Exit status 0 when the connection ended in an orderly close.
server: listens at ADDR (default 127.0.0.1) port --port; for each connection
  in turn, writes what the peer sends to standard output, answers its first
  data with --reply and closes; stops after --count connections, or on Ctrl+C.

options:
  --addr A        the client's own address (default 127.0.0.2)
  --port P        our port (client: 50001, server: 50000)
  --peer-port P   the server's port, for the client (default 50000)
  --send TEXT     what the client sends (default \"Hello server\"); \\r, \\n,
                  \\t and \\\\ stand for CR, LF, tab and a backslash, so
                  --send 'GET / HTTP/1.0\\r\\n\\r\\n' is an HTTP request
  --reply TEXT    what the server answers (default \"Hello client\"), the same
                  escapes
  --count N       connections the server takes before it stops (default: until
                  Ctrl+C)
  --rto T         how long a segment waits for its ACK before it is sent again
                  (1s); each further wait is twice as long
  --tries N       how many times a segment is sent in all before the
                  connection is given up (6; 1-20)
  T is a whole number of milliseconds, or ends in ms or s: 250, 250ms, 2s.
  --pcap FILE     write every segment to or from our end (both directions, the
                  kernel's too) to FILE as pcap (LINKTYPE_RAW: IPv4 header
                  first), for Wireshark or tshark; FILE is created before
                  anything is sent (exit status 1 if it cannot be)
  -v, --verbose   also print the segments read that belong to no connection
                  of ours
  -h, --help      this text

examples, in a namespace of your own (scripts/netns.sh), two terminals:
  python3 -m http.server 8000 --bind 127.0.0.1
  step-06-handshake client --peer-port 8000 --send 'GET / HTTP/1.0\\r\\n\\r\\n'
and our server with the kernel's client:
  step-06-handshake server --count 1
  nc 127.0.0.1 50000
the demo, recorded and read back with checksums checked:
  step-06-handshake --pcap /tmp/handshake.pcap
  tshark -r /tmp/handshake.pcap -o tcp.check_checksum:TRUE";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Print [`USAGE`].
    Help,
    /// Both connections in a private network namespace.
    Demo {
        /// Print segments of no connection of ours too.
        verbose: bool,
    },
    /// Our client alone, in the current namespace.
    Client {
        /// Our address and port.
        me: SocketAddrV4,
        /// The server's.
        peer: SocketAddrV4,
        /// What to send.
        message: Vec<u8>,
        /// The TCP's numbers.
        config: Config,
        /// Print segments of no connection of ours too.
        verbose: bool,
    },
    /// Our server alone, in the current namespace.
    Server {
        /// Our address and port.
        me: SocketAddrV4,
        /// What to answer.
        reply: Vec<u8>,
        /// How many connections before stopping; `None`: until a signal.
        count: Option<u64>,
        /// The TCP's numbers.
        config: Config,
        /// Print segments of no connection of ours too.
        verbose: bool,
    },
}

/// The most tries `--tries` accepts.
pub const MAX_TRIES: u32 = 20;

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
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

fn parse_port(option: &str, value: &str) -> Result<u16, UsageError> {
    value
        .parse::<u16>()
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| usage(format!("{option}: {value:?} is not a port (1-65535)")))
}

fn parse_count(value: &str) -> Result<u64, UsageError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            usage(format!(
                "--count: {value:?} is not a whole number of at least 1"
            ))
        })
}

fn parse_tries(value: &str) -> Result<u32, UsageError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_TRIES).contains(n))
        .ok_or_else(|| {
            usage(format!(
                "--tries: {value:?} is not a whole number from 1 to {MAX_TRIES}"
            ))
        })
}

fn parse_duration(option: &str, value: &str) -> Result<Duration, UsageError> {
    let (number, scale) = if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000)
    } else {
        (value, 1)
    };
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .filter(|ms| (1..=60_000).contains(ms))
        .ok_or_else(|| {
            usage(format!(
                "{option}: {value:?} is not a duration from 1ms to 60s (like 250, 250ms or 2s)"
            ))
        })?;
    Ok(Duration::from_millis(millis))
}

/// `\r`, `\n`, `\t` and `\\` turned into the bytes they stand for; any other
/// backslash is an error.
pub fn unescape(option: &str, value: &str) -> Result<Vec<u8>, UsageError> {
    let mut bytes = Vec::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        let byte = match chars.next() {
            Some('r') => b'\r',
            Some('n') => b'\n',
            Some('t') => b'\t',
            Some('\\') => b'\\',
            other => {
                let what = other.map_or("the end".to_owned(), |c| format!("{c:?}"));
                return Err(usage(format!(
                    "{option}: a backslash before {what}: only \\r, \\n, \\t and \\\\ are known"
                )));
            }
        };
        bytes.push(byte);
    }
    if bytes.is_empty() {
        return Err(usage(format!("{option}: the text is empty")));
    }
    Ok(bytes)
}

/// Parses the arguments after the program's name (`--pcap` taken out
/// already).
pub fn parse<I>(args: I) -> Result<Mode, UsageError>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    let mut args = args.into_iter().map(Into::into).peekable();
    let which = match args.peek().map(String::as_str) {
        Some("client") | Some("server") | Some("demo") => args.next(),
        _ => None,
    };
    let which = which.as_deref().unwrap_or("demo").to_owned();
    let mut verbose = false;
    let mut positional: Option<String> = None;
    let mut options: Vec<(String, String)> = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Mode::Help),
            "-v" | "--verbose" => verbose = true,
            "--addr" | "--port" | "--peer-port" | "--send" | "--reply"
            | "--count" | "--rto" | "--tries" => {
                let value = args
                    .next()
                    .ok_or_else(|| usage(format!("{arg} needs a value")))?;
                if options.iter().any(|(name, _)| *name == arg) {
                    return Err(usage(format!(
                        "{arg} is given twice: give it once"
                    )));
                }
                options.push((arg, value));
            }
            _ if arg.starts_with('-') => {
                return Err(usage(format!("unknown option {arg:?}")));
            }
            _ if which != "demo" && positional.is_none() => positional = Some(arg),
            _ => return Err(usage(format!("unexpected argument {arg:?}"))),
        }
    }
    let get = |name: &str| {
        options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    };
    let allowed: &[&str] = match which.as_str() {
        "client" => &[
            "--addr",
            "--port",
            "--peer-port",
            "--send",
            "--rto",
            "--tries",
        ],
        "server" => &["--port", "--reply", "--count", "--rto", "--tries"],
        _ => &[],
    };
    if let Some((name, _)) =
        options.iter().find(|(n, _)| !allowed.contains(&n.as_str()))
    {
        let mode = if which == "demo" {
            "the demo"
        } else {
            which.as_str()
        };
        return Err(usage(format!("{name} does not apply to {mode}")));
    }
    let mut config = Config::default();
    if let Some(rto) = get("--rto") {
        config.rto = parse_duration("--rto", rto)?;
    }
    if let Some(tries) = get("--tries") {
        config.tries = parse_tries(tries)?;
    }
    let addr = match &positional {
        Some(value) => parse_addr("ADDR", value)?,
        None => Ipv4Addr::LOCALHOST,
    };
    match which.as_str() {
        "client" => {
            let own = match get("--addr") {
                Some(value) => parse_addr("--addr", value)?,
                None => Ipv4Addr::new(127, 0, 0, 2),
            };
            let port =
                get("--port").map_or(Ok(50001), |v| parse_port("--port", v))?;
            let peer_port = get("--peer-port")
                .map_or(Ok(50000), |v| parse_port("--peer-port", v))?;
            let (me, peer) = (
                SocketAddrV4::new(own, port),
                SocketAddrV4::new(addr, peer_port),
            );
            if me == peer {
                return Err(usage(format!(
                    "the client and the server are both {me}"
                )));
            }
            let message = match get("--send") {
                Some(text) => unescape("--send", text)?,
                None => b"Hello server".to_vec(),
            };
            Ok(Mode::Client {
                me,
                peer,
                message,
                config,
                verbose,
            })
        }
        "server" => {
            let port =
                get("--port").map_or(Ok(50000), |v| parse_port("--port", v))?;
            let reply = match get("--reply") {
                Some(text) => unescape("--reply", text)?,
                None => b"Hello client".to_vec(),
            };
            let count = get("--count").map(parse_count).transpose()?;
            Ok(Mode::Server {
                me: SocketAddrV4::new(addr, port),
                reply,
                count,
                config,
                verbose,
            })
        }
        _ => Ok(Mode::Demo { verbose }),
    }
}

/// Takes `--pcap FILE` (or `--pcap=FILE`) out of the arguments, wherever it
/// stands, and returns the file and the rest: the capture applies to every
/// mode alike.
pub fn take_pcap_option(
    args: impl IntoIterator<Item = String>,
) -> Result<(Option<std::path::PathBuf>, Vec<String>), step_04_echo::UsageError> {
    use step_04_echo::UsageError;
    let mut args = args.into_iter();
    let (mut pcap, mut rest) = (None, Vec::new());
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--pcap") {
            Some("") => args.next(),
            Some(inline) if inline.starts_with('=') => Some(inline[1..].to_owned()),
            _ => {
                rest.push(arg);
                continue;
            }
        };
        let value = value
            .filter(|value| !value.is_empty())
            .ok_or_else(|| UsageError("--pcap needs a file name".to_owned()))?;
        if pcap.replace(std::path::PathBuf::from(value)).is_some() {
            return Err(UsageError(
                "--pcap is given twice: give it once".to_owned(),
            ));
        }
    }
    Ok((pcap, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    fn error(line: &str) -> String {
        parse(args(line)).unwrap_err().to_string()
    }

    #[test]
    fn no_mode_is_the_demo() {
        assert_eq!(parse(args("")), Ok(Mode::Demo { verbose: false }));
        assert_eq!(parse(args("-v")), Ok(Mode::Demo { verbose: true }));
        assert_eq!(parse(args("demo --help")), Ok(Mode::Help));
    }

    #[test]
    fn the_client_talks_from_127_0_0_2_to_adddr_by_default() {
        let Ok(Mode::Client {
            me, peer, message, ..
        }) = parse(args("client"))
        else {
            panic!("a client")
        };
        assert_eq!(me.to_string(), "127.0.0.2:50001");
        assert_eq!(peer.to_string(), "127.0.0.1:50000");
        assert_eq!(message, b"Hello server");
        let Ok(Mode::Client {
            me,
            peer,
            message,
            config,
            ..
        }) = parse([
            "client",
            "127.0.0.9",
            "--peer-port",
            "8000",
            "--addr",
            "127.0.0.1",
            "--port",
            "40000",
            "--send",
            "GET / HTTP/1.0\\r\\n\\r\\n",
            "--rto",
            "200ms",
            "--tries",
            "3",
        ])
        else {
            panic!("a client")
        };
        assert_eq!(
            (me.to_string(), peer.to_string()),
            ("127.0.0.1:40000".into(), "127.0.0.9:8000".into())
        );
        assert_eq!(message, b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!((config.rto, config.tries), (Duration::from_millis(200), 3));
    }

    #[test]
    fn the_server_listens_at_addr() {
        let Ok(Mode::Server {
            me, reply, count, ..
        }) = parse(args(
            "server 127.0.0.3 --port 8080 --count 2 --reply bye\\n",
        ))
        else {
            panic!("a server")
        };
        assert_eq!(me.to_string(), "127.0.0.3:8080");
        assert_eq!((reply, count), (b"bye\n".to_vec(), Some(2)));
    }

    #[test]
    fn addresses_must_be_ipv4_loopback() {
        assert_eq!(
            error("server 10.0.0.1"),
            "ADDR: 10.0.0.1 is not a loopback address: this workbook sends only \
             within 127.0.0.0/8, which never leaves the machine"
        );
        assert_eq!(
            error("client --addr ::1"),
            "--addr: \"::1\" is not an IPv4 address (like 127.0.0.1)"
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let cases = [
            ("--bogus", "unknown option \"--bogus\""),
            ("client --port", "--port needs a value"),
            ("client --port 0", "--port: \"0\" is not a port (1-65535)"),
            (
                "client --port 1 --port 2",
                "--port is given twice: give it once",
            ),
            ("server --send x", "--send does not apply to server"),
            ("client --count 2", "--count does not apply to client"),
            ("--rto 1s", "--rto does not apply to the demo"),
            (
                "client --rto 0",
                "--rto: \"0\" is not a duration from 1ms to 60s (like 250, 250ms or 2s)",
            ),
            (
                "client --tries 21",
                "--tries: \"21\" is not a whole number from 1 to 20",
            ),
            (
                "server --count 0",
                "--count: \"0\" is not a whole number of at least 1",
            ),
            (
                "client --send a\\x",
                "--send: a backslash before 'x': only \\r, \\n, \\t and \\\\ are known",
            ),
            (
                "client 127.0.0.1 127.0.0.2",
                "unexpected argument \"127.0.0.2\"",
            ),
            (
                "client 127.0.0.2 --peer-port 50001",
                "the client and the server are both 127.0.0.2:50001",
            ),
            ("stray", "unexpected argument \"stray\""),
        ];
        for (line, message) in cases {
            assert_eq!(error(line), message, "{line}");
        }
    }
}
