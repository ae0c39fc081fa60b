//! Step programs run from a test: copied where an unprivileged uid may run
//! them, started even while a fresh copy is busy, and their output awaited
//! line by line, with a bound on every wait so that a broken program fails
//! the test instead of hanging it.

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{NOBODY, skipped_with};

/// A copy of a program in a fresh directory that every user may enter (a
/// checkout may sit under a 0700 home that `nobody` cannot reach). Removed on
/// drop.
#[derive(Debug)]
pub struct PublicCopy {
    dir: PathBuf,
    program: PathBuf,
}

impl PublicCopy {
    /// Copies `program` (e.g. `env!("CARGO_BIN_EXE_step-01-socket")`) into a new
    /// 0755 directory named after `test`.
    ///
    /// # Panics
    /// If the directory or the copy cannot be made: the test cannot go on.
    pub fn new(program: &str, test: &str) -> PublicCopy {
        let name = Path::new(program).file_name().expect("a program file name");
        let dir =
            std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the temp dir");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let copy = dir.join(name);
        fs::copy(program, &copy).expect("copy the program");
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))
            .expect("chmod");
        PublicCopy { dir, program: copy }
    }

    /// The copy's path.
    pub fn path(&self) -> &Path {
        &self.program
    }

    /// The directory holding the copy.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command that runs the copy as `nobody`, from its directory.
    pub fn command_as_nobody(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.current_dir(&self.dir).uid(NOBODY).gid(NOBODY);
        command
    }
}

impl Drop for PublicCopy {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs `command` to the end with no input, like [`Command::output`], but
/// retries while the program is busy (ETXTBSY): another test thread may fork
/// while a fresh copy is still open for writing, and until that child execs,
/// the kernel refuses to execute the copy.
///
/// # Panics
/// If the program cannot be started, or stays busy for a second.
pub fn output(command: &mut Command) -> Output {
    command.stdin(Stdio::null());
    match retry_while_busy(|| command.output()) {
        Err(e) if e.kind() == ErrorKind::ExecutableFileBusy => {
            panic!("the program stayed busy (ETXTBSY) for a second")
        }
        result => result.expect("the program runs"),
    }
}

/// Starts `command` like [`Command::spawn`], retrying while the program is
/// busy as [`output`] does: for a copy the test signals or reads line by line
/// while it runs.
///
/// # Errors
/// What `spawn` returns; ETXTBSY only once the program stayed busy for a
/// second.
pub fn spawn(command: &mut Command) -> io::Result<Child> {
    retry_while_busy(|| command.spawn())
}

/// Calls `start` until it does not fail with ETXTBSY, for a second at most.
fn retry_while_busy<T>(mut start: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    for _ in 0..100 {
        match start() {
            Err(e) if e.kind() == ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
    start()
}

/// The most any one program may take in a test before it counts as hung.
pub const HANG: Duration = Duration::from_secs(15);

/// A command that runs a bash `script` (in the test's namespace, as the
/// test's other programs).
pub fn shell(script: &str) -> Command {
    let mut command = Command::new("bash");
    command.args(["-c", script]);
    command
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
        skipped_with(test, self.status, &self.stderr)
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
        let mut child = spawn(&mut command)?;
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

// ANCHOR: pcap_promises
/// Runs `program` with `args` to the end, as [`output`] does, and prints what
/// it wrote to stdout and stderr, so that a failing test shows it.
pub fn output_shown(program: &str, args: &[&str]) -> Output {
    let output = self::output(Command::new(program).args(args));
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What `--pcap` promises in every step program that takes it: a file that
/// cannot be created stops the program with exit status 1 and an error naming
/// the file, before it enters a namespace or sends anything (it prints
/// nothing on stdout). `before` are the arguments that go in front of
/// `--pcap`.
///
/// # Panics
/// Where the program breaks that promise.
pub fn assert_an_uncreatable_pcap_file_stops_it_first(
    program: &str,
    before: &[&str],
) {
    let path = "/nonexistent-dir/capture.pcap";
    let output = output_shown(program, &[before, &["--pcap", path]].concat());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("error: --pcap: cannot create {path}: No such file");
    assert!(stderr.starts_with(&expected), "{stderr}");
    // Not even the namespace was entered: nothing was opened, nothing sent.
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
}

/// `--pcap` with no file name after it is a usage error (exit status 2) that
/// says so and shows `usage` (the synopsis, when given), and `--help`
/// documents the option and the file's link type. `before` are the arguments
/// that go in front of `--pcap`.
///
/// # Panics
/// Where the program does otherwise.
pub fn assert_pcap_needs_a_file_name(
    program: &str,
    before: &[&str],
    usage: Option<&str>,
) {
    let output = output_shown(program, &[before, &["--pcap"]].concat());
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --pcap needs a file name"),
        "{stderr}"
    );
    if let Some(usage) = usage {
        assert!(stderr.contains(usage), "{stderr}");
    }

    let help = output_shown(program, &["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--pcap FILE"), "{help}");
    assert!(help.contains("LINKTYPE_RAW"), "{help}");
}

/// What a step program run with `--pcap FILE` printed, and what its file
/// holds, read back by [`read_pcap`](crate::read_pcap).
#[derive(Debug)]
pub struct Captured {
    /// What the program printed on stdout.
    pub stdout: String,
    /// The file's records: (time since 1970, the packet's bytes), in file order.
    pub records: Vec<(Duration, Vec<u8>)>,
}

/// Runs `program` with `args` and then `--pcap` to a fresh file, and checks
/// what every capture must show: the program succeeded, said how many
/// packets it wrote and where, and each record's time is real (never going
/// backwards, between the start and the end of the run). The test checks
/// what the packets are. `None` (after printing `skipped:`, see
/// [`skip`](crate::skip)) where no namespace can be had.
///
/// # Panics
/// Where any of that does not hold.
pub fn run_with_pcap(test: &str, program: &str, args: &[&str]) -> Option<Captured> {
    let path = crate::temp_path(&format!("{test}.pcap"));
    let name = path.to_str().expect("a UTF-8 temporary path");
    let started = SystemTime::now();
    let output = output_shown(program, &[args, &["--pcap", name]].concat());
    let ended = SystemTime::now();
    if let Some(why) = crate::namespace_refused(&output) {
        crate::skip(test, &why);
        return None;
    }
    assert!(output.status.success());
    let records = crate::read_pcap(&path);
    let _ = fs::remove_file(&path);

    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = format!("pcap: {} packets written to {name}", records.len());
    assert!(stdout.contains(&summary), "no {summary:?} in\n{stdout}");
    let since_1970 =
        |time: SystemTime| time.duration_since(UNIX_EPOCH).expect("after 1970");
    let (start, end) = (since_1970(started), since_1970(ended));
    for pair in records.windows(2) {
        assert!(pair[0].0 <= pair[1].0, "times go backwards");
    }
    for (time, _) in &records {
        // Microseconds: the start, cut to them, may be a little later.
        assert!(
            start.saturating_sub(Duration::from_micros(1)) <= *time,
            "{time:?} before the run"
        );
        assert!(*time <= end, "{time:?} after the run");
    }
    Some(Captured { stdout, records })
}
// ANCHOR_END: pcap_promises
