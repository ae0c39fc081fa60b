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
//! - [`in_private_network`]: a test thread of its own in a new network
//!   namespace, for tests that use raw sockets directly (root only).
//! - [`with_ipv4_header`]: a segment as a raw socket reads it, behind the IPv4
//!   header the kernel writes.
//! - [`annotated`] and [`hex`]: bytes as text for a snapshot or an
//!   `assert_eq!`, so that a mismatch shows as a line diff.

use std::fs;
use std::io::{self, ErrorKind, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};

use crate::checksum::PROTO_TCP;
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::netns::bring_lo_up;
use crate::{SeqNumber, TcpFlags, TcpPacket, TcpRepr, annotate_segment, summary};

/// The uid and gid of `nobody`: an unprivileged user on any Linux.
pub const NOBODY: u32 = 65534;

/// Says that `test` was skipped and why. Written to the process's stderr
/// directly: libtest captures `println!` and `eprintln!` of passing tests, so a
/// skip said that way would never be seen.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {reason}");
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

/// Runs `body` on a new thread inside a new network namespace with `lo` up, and
/// returns what it returns. `unshare(CLONE_NEWNET)` moves only the calling
/// thread, so the test harness stays where it is; it needs CAP_SYS_ADMIN, so
/// elsewhere this says why the test is skipped and returns `None`.
///
/// # Panics
/// If `body` panics (the test's assertion failed inside the namespace).
pub fn in_private_network<T: Send + 'static>(
    test: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let entered = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET)?;
        bring_lo_up().map_err(|e| e.errno)?;
        Ok::<T, Errno>(body())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    match entered {
        Ok(value) => Some(value),
        Err(errno) => {
            skip(
                test,
                &format!("unshare(CLONE_NEWNET): {errno} (needs root)"),
            );
            None
        }
    }
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
        ack: SeqNumber(ack),
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
    let Ok(view) = TcpPacket::new_checked(segment) else {
        return format!("not a TCP segment: {segment:02x?}\n");
    };
    let line = summary(src, dst, &TcpRepr::parse(&view));
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
