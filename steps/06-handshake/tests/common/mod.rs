//! Two of our TCPs talking over a pretend wire, without any socket: each
//! segment one writes is read by the other as a raw socket would read it
//! (behind an IPv4 header), at a made-up time that moves only when nothing is
//! in flight, to the next deadline. A test may lose segments on the way.

#![allow(dead_code)] // each test file uses a different part

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use step_01_socket::SeqNumber;
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER};
use step_06_handshake::{App, CloseWhen, Config, Event, Outgoing, State, Tcb};
use testkit::with_ipv4_header;

/// The client's initial sequence number in these tests.
pub const CLIENT_ISS: SeqNumber = SeqNumber(1000);
/// The server's.
pub const SERVER_ISS: SeqNumber = SeqNumber(5000);

/// One end: its TCP and its application.
pub struct End {
    pub name: &'static str,
    pub tcb: Tcb,
    pub app: App,
}

/// Numbers that make a short transcript: resends after 200 ms, TIME-WAIT
/// 500 ms.
pub fn config() -> Config {
    Config {
        rto: Duration::from_millis(200),
        tries: 4,
        time_wait: Duration::from_millis(500),
        ..Config::default()
    }
}

/// Two ends, both ours, as the `client` and `server` modes run them: the
/// client sends `Hello server`; the server answers `Hello client` and closes;
/// the client closes in turn.
pub fn pair() -> (End, End) {
    let client = End {
        name: "client",
        tcb: Tcb::new(config(), CLIENT, CLIENT_ISS),
        app: App::Client {
            peer: SERVER,
            message: REQUEST.to_vec(),
            close_when: CloseWhen::PeerClosed,
            received: 0,
        },
    };
    let server = End {
        name: "server",
        tcb: Tcb::new(config(), SERVER, SERVER_ISS),
        app: App::Server {
            reply: REPLY.to_vec(),
            answered: false,
        },
    };
    (client, server)
}

/// What went over the wire, and what each end said.
#[derive(Default)]
pub struct Transcript {
    /// Every line, as the program prints them, with the time.
    pub text: String,
    /// Every segment written, in order: who wrote it, and whether it was lost.
    pub written: Vec<(&'static str, Outgoing, bool)>,
}

impl Transcript {
    fn line(&mut self, t: Duration, who: &str, what: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{:>4}ms {who}: {what}", t.as_millis());
    }
}

fn handle(end: &mut End, events: Vec<Event>, t: Duration, log: &mut Transcript) {
    let mut queue: std::collections::VecDeque<Event> = events.into();
    while let Some(event) = queue.pop_front() {
        log.line(t, end.name, &event);
        queue.extend(end.app.react(&event, &mut end.tcb));
    }
}

/// Runs the two ends until both are CLOSED (or 60 s of made-up time pass).
/// `lose(n, segment)` says whether the n-th segment written (from 0) is lost.
pub fn talk(
    client: &mut End,
    server: &mut End,
    mut lose: impl FnMut(usize, &Outgoing) -> bool,
) -> Transcript {
    let t0 = Instant::now();
    let mut now = t0;
    let mut log = Transcript::default();
    let events = server.app.start(&mut server.tcb);
    handle(server, events, now - t0, &mut log);
    let events = client.app.start(&mut client.tcb);
    handle(client, events, now - t0, &mut log);
    while now - t0 < Duration::from_secs(60) {
        let mut moved = false;
        for turn in 0..2 {
            let (from, to) = if turn == 0 {
                (&mut *client, &mut *server)
            } else {
                (&mut *server, &mut *client)
            };
            moved |= deliver(from, to, now, t0, &mut log, &mut lose);
        }
        if moved {
            continue;
        }
        let next = [client.tcb.next_deadline(), server.tcb.next_deadline()]
            .into_iter()
            .flatten()
            .min();
        let Some(next) = next else { break };
        now = now.max(next);
        for end in [&mut *client, &mut *server] {
            let events = end.tcb.on_timeout(now);
            handle(end, events, now - t0, &mut log);
        }
    }
    log
}

/// Writes everything `from` has to write now; `to` reads what is not lost.
/// Whether anything was written.
fn deliver(
    from: &mut End,
    to: &mut End,
    now: Instant,
    t0: Instant,
    log: &mut Transcript,
    lose: &mut impl FnMut(usize, &Outgoing) -> bool,
) -> bool {
    let mut moved = false;
    while let Some(out) = from.tcb.poll_transmit(now) {
        moved = true;
        let lost = lose(log.written.len(), &out);
        let how = if lost { "LOST " } else { "wrote" };
        log.line(now - t0, from.name, format!("  {how} {}", out.seen));
        log.written.push((from.name, out.clone(), lost));
        if lost {
            continue;
        }
        let segment = &out.seen.segment;
        let (src, dst) = (*segment.src.ip(), *segment.dst.ip());
        let bytes = with_ipv4_header(src, dst, 1, &out.bytes);
        let events = to.tcb.on_packet(&bytes, now);
        handle(to, events, now - t0, log);
    }
    moved
}

/// Whether both ends are closed.
pub fn both_closed(client: &End, server: &End) -> bool {
    client.tcb.state() == State::Closed && server.tcb.state() == State::Closed
}

// Running the program, in the test's own namespace when the test made one
// (see testkit::in_private_network): what it starts inherits
// it.

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_step-06-handshake");

/// The longest any one run may take before it counts as hung.
pub const HANG: Duration = Duration::from_secs(30);

/// A command that runs the binary with `args`.
pub fn command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command.args(args);
    // Not through sudo, which would add a `privileges:` line.
    command.env_remove("SUDO_UID").env_remove("SUDO_GID");
    command
}

/// How a run ended and what it printed.
#[derive(Debug)]
pub struct Ran {
    pub status: std::process::ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Ran {
    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Whether it failed only because no namespace could be entered; says
    /// that `test` is skipped if so.
    pub fn skipped(&self, test: &str) -> bool {
        testkit::skipped_with(test, self.status, &self.stderr)
    }

    /// The exit code (panics if a signal ended it).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {self:?}"))
    }
}

/// Runs `command` to its end, killing it (and failing) after [`HANG`].
pub fn run(mut command: std::process::Command) -> Ran {
    use std::io::Read as _;
    use std::process::Stdio;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = testkit::spawn(&mut command)
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ran {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// Whether `nft` is installed; if not, says that `test` is skipped and why.
/// Call it before the test enters its namespace, so that a skip is said once.
pub fn nft_installed(test: &str) -> bool {
    if step_06_handshake::silence::find_nft().is_some() {
        return true;
    }
    testkit::skip(
        test,
        "`nft` is not installed (Debian: apt-get install nftables; .ci/run installs it)",
    );
    false
}

/// Loads nftables `rules` (`nft -f -` syntax) into the test's namespace.
///
/// # Panics
/// If `nft` refuses them: in the test's own namespace it must not.
pub fn nft(rules: &str) {
    use std::io::Write as _;
    use std::process::Stdio;
    let nft = step_06_handshake::silence::find_nft().expect("nft is installed");
    let mut child = std::process::Command::new(&nft)
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
        "nft refused the rules: {}\n{rules}",
        String::from_utf8_lossy(&loaded.stderr)
    );
}

/// The `from -> to` pairs of the state changes `role` printed, in order.
pub fn transitions(text: &str, role: &str) -> Vec<String> {
    let prefix = format!("{role}: ");
    text.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter(|rest| rest.contains(" -> ") && !rest.starts_with(' '))
        .filter_map(|rest| rest.split(':').next())
        .map(str::to_owned)
        .collect()
}

/// A started program whose standard error lines can be awaited (the modes
/// write what the connection does there).
pub struct Started {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
    stdout: std::thread::JoinHandle<Vec<u8>>,
    start: Instant,
}

/// Starts `command`.
pub fn start(mut command: std::process::Command) -> Started {
    use std::io::{BufRead as _, Read as _};
    use std::process::Stdio;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = testkit::spawn(&mut command)
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut stdout_pipe = child.stdout.take().expect("piped");
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout_pipe.read_to_end(&mut bytes);
        bytes
    });
    let stderr = child.stderr.take().expect("piped");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Started {
        child,
        lines,
        seen: Vec::new(),
        stdout,
        start: Instant::now(),
    }
}

impl Started {
    /// Waits until a line of standard error contains `text`; false if the
    /// program ended or [`HANG`] passed first.
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
                Err(_) => return false,
            }
        }
    }

    /// Sends `signal` to the program.
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("kill");
    }

    /// Waits for the end (at most [`HANG`]) and collects the output.
    pub fn finish(mut self) -> Ran {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if self.start.elapsed() > HANG {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("still running after {HANG:?}:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.lines.iter());
        Ran {
            status,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: lines.join("\n") + "\n",
            elapsed: self.start.elapsed(),
        }
    }
}
