//! Running the step-04 binary from tests, without touching the host's network.
//!
//! A test that sends packets runs whole in a private network namespace of its
//! own, as an ordinary user as well as root
//! (`step_01_socket::testing::in_private_network`). There:
//!
//! - [`command`] starts the binary, which inherits the namespace: the server
//!   and the client of one test meet there, and no other test sees them.
//! - [`Running`] is a started program whose output lines can be awaited, with a
//!   bound on every wait so a broken program fails the test instead of hanging.
//! - The test's own sockets open directly in the namespace: an injector of
//!   hand-made IPv4 packets ([`Injector`]), kernel TCP traffic, idle raw
//!   sockets; [`nft`] loads firewall rules into it.

#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, sendto,
    socket,
};
use nix::unistd::Pid;
use step_01_socket::checksum::ipv4_header_checksum;
use step_01_socket::testing::{self, skip};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_step-04-echo");

/// The most any one program may take in these tests before it counts as hung.
pub const HANG: Duration = Duration::from_secs(15);

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    })
}

/// A command that runs `BIN args`. Started from a test that runs in its own
/// network namespace (see [`testing::in_private_network`]), the program
/// inherits it: the server and the client of one test meet there, and no other
/// test sees their packets.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    command
}

/// A command that runs a bash `script` (in the test's namespace, as
/// [`command`]).
pub fn shell(script: &str) -> Command {
    let mut command = Command::new("bash");
    command.args(["-c", script]);
    command
}

/// Whether `nft` is installed (on the PATH, or in `/usr/sbin` or `/sbin`); if
/// not, says that `test` is skipped and why. Call it before the test enters its
/// namespace, so that a skip is said once.
pub fn nft_installed(test: &str) -> bool {
    if testing::find_program("nft").is_some() {
        return true;
    }
    skip(
        test,
        "`nft` is not installed (Debian: apt-get install nftables; \
         .ci/run installs it)",
    );
    false
}

/// Loads nftables `rules` (`nft -f -` syntax) into the calling test's network
/// namespace. There the test is root of its own user namespace and holds
/// CAP_NET_ADMIN over the network, so this needs no root.
///
/// # Panics
/// If `nft` is missing (see [`nft_installed`]) or refuses the rules: in the
/// test's own namespace it must not.
pub fn nft(rules: &str) {
    let nft = testing::find_program("nft").expect("nft is installed");
    let mut child = Command::new(&nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", nft.display()));
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(rules.as_bytes())
        .expect("write the rules to nft");
    let loaded = child.wait_with_output().expect("nft ends");
    assert!(
        loaded.status.success(),
        "nft refused the rules ({}): {}\n{rules}",
        loaded.status,
        String::from_utf8_lossy(&loaded.stderr)
    );
}

/// A started program: its output lines arrive on a channel, and it is killed if
/// it is still running when this is dropped.
pub struct Running {
    child: Option<Child>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a program ended, and everything it printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    /// Whether it failed only because no namespace could be entered; says that
    /// `test` is skipped if so.
    pub fn skipped(&self, test: &str) -> bool {
        testing::skipped_with(test, self.status, &self.stderr)
    }

    /// The exit code (panics if a signal ended it).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }

    /// The stdout lines that start with `prefix`.
    pub fn lines_starting(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(prefix))
            .collect()
    }
}

fn forward(stdout: ChildStdout) -> Receiver<String> {
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}

impl Running {
    /// Starts `command` with its stdout and stderr captured.
    pub fn spawn(command: Command) -> Running {
        let text = format!("{command:?}");
        Running::try_spawn(command)
            .unwrap_or_else(|e| panic!("cannot start {text}: {e}"))
    }

    /// Starts `command`, or says why it could not be started. A program still
    /// busy (ETXTBSY: a fresh copy) is retried for a second first.
    pub fn try_spawn(mut command: Command) -> std::io::Result<Running> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = testing::spawn(&mut command)?;
        let lines = forward(child.stdout.take().expect("piped"));
        let mut stderr_pipe = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        Ok(Running {
            child: Some(child),
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        })
    }

    /// The process id.
    pub fn pid(&self) -> Pid {
        let child = self.child.as_ref().expect("running");
        Pid::from_raw(child.id() as i32)
    }

    /// Waits until a line containing `text` is printed; false if the program
    /// ended or `HANG` passed first.
    pub fn wait_for(&mut self, text: &str) -> bool {
        if self.seen.iter().any(|line| line.contains(text)) {
            return true;
        }
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return false;
                }
            }
        }
    }

    /// Sends `signal` to the program.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid(), signal).expect("kill");
    }

    /// Waits for the program to end (at most `HANG`, then it is killed and the
    /// test fails) and collects its output.
    pub fn finish(mut self) -> Finished {
        let start = Instant::now();
        let mut child = self.child.take().expect("running");
        let status = loop {
            match child.try_wait().expect("wait") {
                Some(status) => break status,
                None if start.elapsed() > HANG => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let rest: Vec<String> = self.lines.try_iter().collect();
                    panic!(
                        "still running after {HANG:?}; printed:\n{}\n{}",
                        self.seen.join("\n"),
                        rest.join("\n")
                    );
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        // The reader thread ends at end of file: collect every line.
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.iter());
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Finished {
            status,
            stdout: lines.iter().map(|l| format!("{l}\n")).collect(),
            stderr,
            elapsed: start.elapsed(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `command` to its end (bounded by `HANG`); `elapsed` counts from the
/// start.
pub fn run(command: Command) -> Finished {
    let start = Instant::now();
    let mut finished = Running::spawn(command).finish();
    finished.elapsed = start.elapsed();
    finished
}

/// Writes whole IPv4 packets, header included, as the test builds them:
/// `socket(AF_INET, SOCK_RAW, IPPROTO_RAW)`, on which IP_HDRINCL is implied.
/// The kernel still fills in the total length and the header checksum (and an
/// identification of 0), and delivers the packet to every raw TCP socket of
/// the namespace before its own TCP looks at it. Open it in the test's
/// namespace.
pub struct Injector {
    fd: OwnedFd,
}

impl Injector {
    /// The socket, in the calling thread's network namespace.
    pub fn open() -> Result<Injector, Errno> {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        )?;
        Ok(Injector { fd })
    }

    /// Sends `packet` (IPv4 header first) towards its destination address.
    pub fn send(&self, packet: &[u8]) -> Result<(), Errno> {
        use std::os::fd::AsRawFd;
        let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        let to = SockaddrIn::from(std::net::SocketAddrV4::new(dst, 0));
        let sent = sendto(self.fd.as_raw_fd(), packet, &to, MsgFlags::empty())?;
        assert_eq!(sent, packet.len(), "a raw send is all or nothing");
        Ok(())
    }
}

/// An IPv4 packet carrying `segment` from `src` to `dst` whose header has
/// `options` (a multiple of 4 bytes) after its 20 fixed bytes: IHL 5 + words,
/// total length and header checksum correct, identification `ident`, DF, TTL
/// 64.
pub fn ipv4_with_options(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    options: &[u8],
    segment: &[u8],
) -> Vec<u8> {
    assert!(options.len() % 4 == 0 && options.len() <= 40, "{options:?}");
    let header_len = 20 + options.len();
    let total = u16::try_from(header_len + segment.len()).expect("fits");
    let mut packet = Vec::with_capacity(usize::from(total));
    packet.push(0x40 | (header_len / 4) as u8); // version 4, IHL
    packet.push(0); // DSCP, ECN
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&0x4000u16.to_be_bytes()); // DF, offset 0
    packet.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum 0 for now
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(options);
    let checksum = ipv4_header_checksum(&packet[..header_len]);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet.extend_from_slice(segment);
    packet
}

/// The count after `reason ` in a side's last `ignored` line, e.g.
/// `foreign 3`; 0 if the reason is not listed.
pub fn ignored(output: &Finished, role: &str, reason: &str) -> u64 {
    let prefix = format!("{role}: ignored ");
    // With -v, each ignored segment has a line of its own; the summary's
    // comes last.
    let line = output
        .lines_starting(&prefix)
        .pop()
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{}", output.stdout));
    line[prefix.len()..]
        .split(", ")
        .find_map(|item| item.strip_prefix(&format!("{reason} ")))
        .map(|n| n.parse().expect("a count"))
        .unwrap_or(0)
}

/// The number after `word` in `line`: `count("sent 7 requests", "sent")` is 7.
pub fn count_after(line: &str, word: &str) -> Option<u64> {
    let mut words = line.split([' ', ',']).filter(|w| !w.is_empty());
    words.find(|w| *w == word)?;
    words.next()?.parse().ok()
}
