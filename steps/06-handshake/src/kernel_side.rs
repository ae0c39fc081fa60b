//! The kernel's own TCP, for the demo to talk to: a `std::net::TcpListener`
//! that serves one connection, and a `std::net::TcpStream` that connects
//! once, each in a thread of its own, each writing down what every call
//! returned.
//!
//! The threads only use ordinary sockets: what they see is what any program
//! using TCP sees. The demo prints their account once the raw side is done, so
//! that the two never interleave.
//!
//! Every wait is bounded (10 s), so that a raw side that never answers ends the
//! demo with an error instead of a hang.

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{
    self, AddressFamily, SockFlag, SockType, SockaddrIn, setsockopt, sockopt,
};
use nix::sys::time::TimeVal;

/// The longest any one call of the kernel's side may wait.
pub const WAIT: Duration = Duration::from_secs(10);

/// What the kernel's side saw, call by call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// One line per call.
    pub lines: Vec<String>,
    /// Whether every call did what it should.
    pub ok: bool,
}

impl Account {
    fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn fail(mut self, call: &str, error: impl fmt::Display) -> Account {
        self.say(format!("{call} failed: {error}"));
        self.ok = false;
        self
    }
}

fn text(bytes: &[u8]) -> String {
    format!("{:?}", step_01_socket::dump::printable(bytes))
}

/// Reads until `want` bytes came or the peer closed; each `read()` is a line.
fn read_some(
    stream: &mut TcpStream,
    want: usize,
    account: &mut Account,
) -> std::io::Result<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        account.say(format!("read() returned {n} bytes: {}", text(&buf[..n])));
        got.extend_from_slice(&buf[..n]);
    }
    Ok(got)
}

/// Reads once more and expects 0: the peer's FIN.
fn read_end(
    stream: &mut TcpStream,
    who: &str,
    account: &mut Account,
) -> std::io::Result<bool> {
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    if n == 0 {
        account.say(format!(
            "read() returned 0: the {who} closed its side (its FIN)"
        ));
        Ok(true)
    } else {
        account.say(format!(
            "read() returned {n} more bytes: {}",
            text(&buf[..n])
        ));
        Ok(false)
    }
}

/// Accepts on a non-blocking listener, for [`WAIT`] at most.
fn accept(
    listener: &TcpListener,
) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Err(error)
                if error.kind() == ErrorKind::WouldBlock
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            result => return result,
        }
    }
}

// ANCHOR: serve_once
/// The kernel's server: accepts one connection on `listener`, reads the
/// request, writes `reply`, reads until the client's FIN, and closes.
pub fn serve_once(
    listener: TcpListener,
    expect: usize,
    reply: Vec<u8>,
) -> JoinHandle<Account> {
    std::thread::spawn(move || {
        let mut account = Account {
            ok: true,
            ..Account::default()
        };
        let accepted = listener
            .set_nonblocking(true)
            .and_then(|()| accept(&listener));
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => return account.fail("accept()", error),
        };
        account.say(format!("accept() returned a connection from {peer}"));
        let timeouts = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_read_timeout(Some(WAIT)));
        if let Err(error) = timeouts {
            return account.fail("setsockopt", error);
        }
        match read_some(&mut stream, expect, &mut account) {
            Ok(request) if request.len() == expect => {}
            Ok(request) => {
                return account
                    .fail("read()", format!("{} bytes in all", request.len()));
            }
            Err(error) => return account.fail("read()", error),
        }
        if let Err(error) = stream.write_all(&reply) {
            return account.fail("write()", error);
        }
        account.say(format!(
            "write() sent {} bytes: {}",
            reply.len(),
            text(&reply)
        ));
        match read_end(&mut stream, "client", &mut account) {
            Ok(true) => {}
            Ok(false) => account.ok = false,
            Err(error) => return account.fail("read()", error),
        }
        drop(stream);
        account.say("close(): its FIN goes out");
        account
    })
}
// ANCHOR_END: serve_once

/// A blocking TCP socket bound to `from` and connected to `to`, whose
/// connect, reads and writes each wait [`WAIT`] at most.
///
/// std's `TcpStream::connect` lets the kernel pick the source address and a
/// random port; the demo binds first (to 127.0.0.2 and a fixed port), so that
/// every run prints the same, then connects as `connect` does.
fn connect_from(from: SocketAddrV4, to: SocketAddrV4) -> nix::Result<TcpStream> {
    let fd: OwnedFd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let wait = TimeVal::new(WAIT.as_secs() as _, 0);
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    // SO_SNDTIMEO bounds connect() too.
    setsockopt(&fd, sockopt::SendTimeout, &wait)?;
    setsockopt(&fd, sockopt::ReceiveTimeout, &wait)?;
    socket::bind(fd.as_raw_fd(), &SockaddrIn::from(from))?;
    socket::connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(TcpStream::from(fd))
}

// ANCHOR: connect_once
/// The kernel's client: connects from `from` to `to`, writes `message`,
/// reads the reply (`expect` bytes), reads until the server's FIN, and
/// closes.
pub fn connect_once(
    from: SocketAddrV4,
    to: SocketAddrV4,
    message: Vec<u8>,
    expect: usize,
) -> JoinHandle<Account> {
    std::thread::spawn(move || {
        let mut account = Account {
            ok: true,
            ..Account::default()
        };
        let mut stream = match connect_from(from, to) {
            Ok(stream) => stream,
            Err(error) => return account.fail(&format!("connect({to})"), error),
        };
        account.say(format!(
            "connect() to {to} returned 0: connected, from {from}"
        ));
        if let Err(error) = stream.write_all(&message) {
            return account.fail("write()", error);
        }
        account.say(format!(
            "write() sent {} bytes: {}",
            message.len(),
            text(&message)
        ));
        match read_some(&mut stream, expect, &mut account) {
            Ok(reply) if reply.len() == expect => {}
            Ok(reply) => {
                return account
                    .fail("read()", format!("{} bytes in all", reply.len()));
            }
            Err(error) => return account.fail("read()", error),
        }
        match read_end(&mut stream, "server", &mut account) {
            Ok(true) => {}
            Ok(false) => account.ok = false,
            Err(error) => return account.fail("read()", error),
        }
        let _ = stream.shutdown(Shutdown::Both);
        drop(stream);
        account.say("close(): its FIN goes out");
        account
    })
}
// ANCHOR_END: connect_once
