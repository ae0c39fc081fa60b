//! What the workbook's tests share: not part of any chapter's lesson.
//!
//! - [`skip`]: a test that cannot run here says why, where `cargo test` shows
//!   it.
//! - [`namespace_refused`]: whether a step program could not enter its private
//!   namespace (the system forbids it), so that its test skips instead of
//!   failing.
//! - [`PublicCopy`]: a step program copied where an unprivileged uid may run
//!   it, to show the no-sudo path from a test that runs as root.
//! - [`in_private_network`]: a test thread of its own in a new network
//!   namespace, for tests that use raw sockets directly (root only).

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};

use crate::netns::bring_lo_up;

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
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success()
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
    for _ in 0..100 {
        match command.output() {
            Err(e) if e.kind() == ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result.expect("the program runs"),
        }
    }
    panic!("the program stayed busy (ETXTBSY) for a second");
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
