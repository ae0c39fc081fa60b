//! What the workbook's tests share: not part of any chapter's lesson.
//!
//! - [`skip`]: a test that cannot run here says why, where `cargo test` shows
//!   it.
//! - [`namespace_refused`]: whether a step program could not enter its private
//!   namespace (the system forbids it), so that its test skips instead of
//!   failing; [`skipped`] and [`skipped_with`] also say so.
//! - [`PublicCopy`]: a step program copied where an unprivileged uid may run
//!   it, to show the no-sudo path from a test that runs as root; [`output`]
//!   and [`spawn`] start such a copy even while it is briefly busy.
//! - [`in_private_network`]: the whole test re-run in a private network
//!   namespace of its own, for tests that use raw sockets directly, as an
//!   ordinary user as well as root.
//! - [`with_ipv4_header`]: a segment as a raw socket reads it, behind the IPv4
//!   header the kernel writes.
//! - [`annotated`] and [`hex`]: bytes as text for a snapshot or an
//!   `assert_eq!`, so that a mismatch shows as a line diff.

use std::ffi::CString;
use std::fs;
use std::io::{self, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use nix::errno::Errno;

use crate::checksum::PROTO_TCP;
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::netns::{NamespaceError, bring_lo_up};
use crate::{
    ChecksumCheck, SeqNumber, TcpFlags, TcpRepr, annotate_segment, segment_summary,
};

/// The uid and gid of `nobody`: an unprivileged user on any Linux.
pub const NOBODY: u32 = 65534;

/// Says that `test` was skipped and why. Written to the process's stderr
/// directly: libtest captures `println!` and `eprintln!` of passing tests, so a
/// skip said that way would never be seen.
///
/// # Panics
/// Under `CI=true`: CI runs as root with every tool installed, so a skip there
/// means a proof did not run, and a green CI must mean that every one did.
pub fn skip(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some_and(|ci| ci == "true") {
        panic!(
            "{test} would be skipped under CI=true, where every test must run: {reason}"
        );
    }
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {reason}");
}

/// Where `program` is installed: on the PATH, or in `/usr/sbin` or `/sbin`,
/// which an ordinary user's PATH often lacks (Debian puts `nft` there).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The first line of the error when a step program could not enter a private
/// network namespace (the system forbids user namespaces); `None` otherwise.
pub fn namespace_refused(output: &Output) -> Option<String> {
    refusal(output.status, &String::from_utf8_lossy(&output.stderr))
}

/// Whether `test` stops here because the step program it ran could not enter
/// its private network namespace; if so, [`skip`] says so with the program's
/// first line of error.
pub fn skipped(test: &str, output: &Output) -> bool {
    skipped_with(
        test,
        output.status,
        &String::from_utf8_lossy(&output.stderr),
    )
}

/// [`skipped`] for a program whose exit status and stderr the test collected
/// apart (one it started, read and waited for itself).
pub fn skipped_with(test: &str, status: ExitStatus, stderr: &str) -> bool {
    match refusal(status, stderr) {
        Some(why) => {
            skip(test, &why);
            true
        }
        None => false,
    }
}

/// See [`namespace_refused`].
fn refusal(status: ExitStatus, stderr: &str) -> Option<String> {
    if status.success()
        || !stderr.contains("cannot enter a private network namespace")
    {
        return None;
    }
    Some(stderr.lines().next().unwrap_or_default().to_owned())
}

/// Whether the calling process is root (tests that switch uid need it).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

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

// ANCHOR: in_private_network
/// Runs the test `test` in a private network namespace of its own (only `lo`,
/// up), as an ordinary user as well as root, and returns `Some(body())` there;
/// write the test as
/// `let Some(value) = in_private_network(name, || ...) else { return };`
/// followed by its assertions.
///
/// A test cannot enter such a namespace itself: an ordinary user needs a user
/// namespace around it, and `unshare(CLONE_NEWUSER)` fails with EINVAL in a
/// process with more than one thread, which a libtest process always is. So the
/// test runs itself again: this process starts its own executable with
/// `test --exact`, and the child, between `fork` and `exec` while it has one
/// thread, unshares the namespaces (the network alone as root; a user namespace
/// around it otherwise, with uid and gid 0 inside mapped to ours, which gives
/// CAP_NET_RAW and CAP_NET_ADMIN over the new network). In that child this
/// function brings `lo` up and returns `Some(body())`, so the whole test runs
/// there, assertions included; programs it starts inherit the namespace. In
/// the parent it waits for the child, fails if the child failed, and returns
/// `None`: the test is done.
///
/// Where the system forbids user namespaces, [`skip`] says which rule did and
/// this returns `None`.
///
/// # Panics
/// In the parent, if the child test failed (its output is in the message) or
/// ran no test (`test` is not the test's exact name); in the child, as `body`
/// does.
pub fn in_private_network<T>(test: &str, body: impl FnOnce() -> T) -> Option<T> {
    if std::env::var_os(INSIDE).is_some_and(|name| name == test) {
        if let Err(error) = bring_lo_up() {
            panic!("in the test's namespace: {error}");
        }
        return Some(body());
    }
    if let Some(thread) = std::thread::current().name()
        && thread != "main"
        && thread != test
    {
        panic!("in_private_network({test:?}) called from the test {thread:?}");
    }
    let exe = std::env::current_exe().expect("the test's own executable");
    let mut command = Command::new(exe);
    command
        // --include-ignored: an #[ignore]d test (an exercise check) that the
        // parent runs must run in the child too.
        .args([test, "--exact", "--include-ignored", "--nocapture"])
        .arg("--test-threads=1")
        .env(INSIDE, test)
        .stdin(Stdio::null());
    let enter = EnterNamespace::new();
    // SAFETY: the closure runs in the forked child before exec and only makes
    // system calls on data prepared before the fork: no allocation, no lock.
    unsafe { command.pre_exec(move || enter.run()) };
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => {
            let errno = Errno::from_raw(error.raw_os_error().unwrap_or(0));
            skip(test, &namespace_refusal(errno));
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test}, run in a private network namespace, failed ({}):\n\
         --- its stdout:\n{stdout}\n--- its stderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the re-run with `{test} --exact` ran no test: is {test:?} the test's \
         full name?\n{stdout}"
    );
    // What the body printed shows with --nocapture or on failure, as usual;
    // a skip inside it shows always.
    print!("{stdout}");
    for line in stderr.lines().filter(|l| l.starts_with("skipped: ")) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    None
}
// ANCHOR_END: in_private_network

/// Set in the child that [`in_private_network`] starts, to the test's name.
const INSIDE: &str = "WORKBOOK_TEST_IN_PRIVATE_NETWORK";

/// The system calls that put the forked child of [`in_private_network`] into
/// its namespaces, with every string they need made before the fork.
struct EnterNamespace {
    /// Root needs no user namespace: the network namespace alone.
    root: bool,
    /// `/proc/self/setgroups`, `/proc/self/uid_map`, `/proc/self/gid_map` and
    /// what to write into each.
    writes: [(CString, CString); 3],
}

impl EnterNamespace {
    fn new() -> EnterNamespace {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let c = |s: String| CString::new(s).expect("no NUL");
        EnterNamespace {
            root: uid == 0,
            writes: [
                (c("/proc/self/setgroups".into()), c("deny".into())),
                (c("/proc/self/uid_map".into()), c(format!("0 {uid} 1"))),
                (c("/proc/self/gid_map".into()), c(format!("0 {gid} 1"))),
            ],
        }
    }

    /// Runs in the child between fork and exec, with one thread.
    fn run(&self) -> io::Result<()> {
        if self.root {
            // SAFETY: unshare takes flags only.
            return check(unsafe { libc::unshare(libc::CLONE_NEWNET) });
        }
        // SAFETY: as above.
        check(unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) })?;
        for (path, text) in &self.writes {
            // SAFETY: both are NUL-terminated strings that outlive the calls;
            // the fd is closed on every path.
            unsafe {
                let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                check(fd)?;
                let len = text.as_bytes().len();
                let written = libc::write(fd, text.as_ptr().cast(), len);
                let errno = io::Error::last_os_error();
                libc::close(fd);
                if written != len as isize {
                    return Err(errno);
                }
            }
        }
        Ok(())
    }
}

/// A system call's -1 as the error it set.
fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Why the child could not enter its namespace, with the rule that forbids it
/// where one can be told (the same diagnosis the step programs print).
fn namespace_refusal(errno: Errno) -> String {
    let error = NamespaceError {
        call: "unshare(CLONE_NEWUSER | CLONE_NEWNET) and its uid map".into(),
        errno,
        refusal: crate::netns::refusal_for(errno),
    };
    error
        .to_string()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The IPv4 packet a raw socket reads when `segment` (a TCP header and its
/// payload) goes from `src` to `dst`: the 20-byte header the kernel writes in
/// front (DF, TTL 64, protocol TCP, a correct checksum), then the segment. The
/// kernel picks the identification; a test fixes it as `ident`, so that what it
/// prints stays the same from run to run.
pub fn with_ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    segment: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: PROTO_TCP,
        ident,
        ttl: 64,
        payload_len: segment.len(),
    };
    let mut packet = vec![0u8; ip.header_len() + segment.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]));
    packet[ip.header_len()..].copy_from_slice(segment);
    packet
}

/// What a raw socket reads when a segment with these fields goes from `src` to
/// `dst`: the segment with a correct checksum behind [`with_ipv4_header`]'s
/// header (identification 1). A RST advertises window 0, as the kernel's do;
/// anything else our window, 65535.
pub fn segment_as_read(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let window = if flags.contains(TcpFlags::RST) {
        0
    } else {
        65535
    };
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNumber(seq),
        ack_number: flags.contains(TcpFlags::ACK).then_some(SeqNumber(ack)),
        flags,
        window,
        payload,
    };
    let segment = tcp.to_bytes(*src.ip(), *dst.ip());
    with_ipv4_header(*src.ip(), *dst.ip(), 1, &segment)
}

/// The summary line, then every field of `segment` sent from `src` to `dst`.
/// Bytes that are no TCP segment give a line that says so, not a panic: a
/// learner's wrong bytes then show in the snapshot's diff.
pub fn annotated(src: SocketAddrV4, dst: SocketAddrV4, segment: &[u8]) -> String {
    let Ok(line) = segment_summary(src, dst, segment, ChecksumCheck::Ignore) else {
        return format!("not a TCP segment: {segment:02x?}\n");
    };
    let fields = annotate_segment(*src.ip(), *dst.ip(), segment)
        .unwrap_or_else(|error| format!("not a TCP segment: {error}\n"));
    format!("{line}\n{fields}")
}

/// Hex of `bytes`, 8 per line, so that a failed comparison shows which bytes
/// differ.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
