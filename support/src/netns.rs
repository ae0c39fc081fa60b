//! A private network namespace for the demos: a network of its own with only
//! `lo`, so a raw socket there reads nothing of the host's traffic, and a user
//! namespace around it, so an ordinary user holds CAP_NET_RAW there.
//!
//! `unshare(CLONE_NEWUSER)` fails with EINVAL in a process with more than one
//! thread, so [`enter_private_namespace`] must run first thing in `main`, before
//! anything starts a thread. A test process always has several threads, so
//! tests either run the step binaries or re-run themselves in a child that
//! unshares before it execs (`testkit::in_private_network`).

use std::fmt;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType};
use nix::sys::stat::Mode;
use nix::unistd::{getegid, geteuid, write};

use crate::advice::program_name;

/// Which namespaces the process entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// As root: a new network namespace alone.
    Network,
    /// As an ordinary user: a new user namespace, in which the process is root
    /// (uid 0 maps to `outer_uid`), owning a new network namespace.
    UserAndNetwork {
        /// The uid outside, which uid 0 inside stands for.
        outer_uid: u32,
        /// The gid outside, which gid 0 inside stands for.
        outer_gid: u32,
    },
}

impl fmt::Display for Namespace {
    /// The one line a step binary prints when it has entered the namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Namespace::Network => f.write_str(
                "namespace: a private network namespace (only lo, up); the host's traffic is not visible here",
            ),
            Namespace::UserAndNetwork { outer_uid, .. } => write!(
                f,
                "namespace: uid {outer_uid} runs as root of a private user+network namespace (only lo, up); no sudo needed"
            ),
        }
    }
}

/// Why the private namespace could not be had, as far as it can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Ubuntu 23.10+: AppArmor takes every capability from unprivileged user
    /// namespaces (`kernel.apparmor_restrict_unprivileged_userns = 1`).
    AppArmor,
    /// `user.max_user_namespaces = 0`: the kernel allows none.
    MaxUserNamespaces,
    /// Debian's older `kernel.unprivileged_userns_clone = 0`.
    UnprivilegedUsernsClone,
    /// `unshare` itself was refused with EPERM and no sysctl explains it: most
    /// often a container's seccomp profile.
    Forbidden,
    /// The process had more than one thread (a programming error).
    Threads,
    /// Anything else; the errno tells.
    Other,
}

/// The private namespace could not be entered: which call failed, why, and what
/// to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceError {
    /// The call that failed, with its arguments.
    pub call: String,
    /// The kernel's answer.
    pub errno: Errno,
    /// The likely reason.
    pub refusal: Refusal,
}

impl fmt::Display for NamespaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cannot enter a private network namespace: {}: {}",
            self.call, self.errno
        )?;
        let why = match self.refusal {
            Refusal::AppArmor => {
                "AppArmor forbids unprivileged user namespaces here \
                 (kernel.apparmor_restrict_unprivileged_userns = 1)."
            }
            Refusal::MaxUserNamespaces => {
                "This kernel allows no user namespaces (user.max_user_namespaces = 0)."
            }
            Refusal::UnprivilegedUsernsClone => {
                "This kernel forbids unprivileged user namespaces \
                 (kernel.unprivileged_userns_clone = 0)."
            }
            Refusal::Forbidden => {
                "unshare() was refused; no sysctl explains it, so a seccomp profile \
                 (a container's, most often) or a security module forbids it."
            }
            Refusal::Threads => {
                "The process already runs several threads; enter the namespace first \
                 thing in main()."
            }
            Refusal::Other => "The kernel refused for the reason above.",
        };
        writeln!(f, "{why}")?;
        writeln!(f, "Remedies, any one of:")?;
        writeln!(
            f,
            "  - run as root, which needs no user namespace: cargo build, then\n      \
             sudo ./target/debug/{}",
            program_name()
        )?;
        match self.refusal {
            Refusal::AppArmor => writeln!(
                f,
                "  - allow them (Ubuntu): sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
            )?,
            Refusal::MaxUserNamespaces => writeln!(
                f,
                "  - allow them: sudo sysctl -w user.max_user_namespaces=15000"
            )?,
            Refusal::UnprivilegedUsernsClone => writeln!(
                f,
                "  - allow them: sudo sysctl -w kernel.unprivileged_userns_clone=1"
            )?,
            Refusal::Forbidden => writeln!(
                f,
                "  - in a container: allow unshare and setns in its seccomp profile, or run it --privileged"
            )?,
            Refusal::Threads | Refusal::Other => {}
        }
        Ok(())
    }
}

impl std::error::Error for NamespaceError {}

fn sysctl(path: &str) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// Reads the sysctls that forbid user namespaces, to say which one refused
/// `errno`.
pub fn refusal_for(errno: Errno) -> Refusal {
    if errno == Errno::EINVAL {
        return Refusal::Threads;
    }
    if errno == Errno::ENOSPC
        || sysctl("/proc/sys/user/max_user_namespaces").as_deref() == Some("0")
    {
        return Refusal::MaxUserNamespaces;
    }
    if sysctl("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Refusal::UnprivilegedUsernsClone;
    }
    if sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref()
        == Some("1")
    {
        return Refusal::AppArmor;
    }
    if errno == Errno::EPERM || errno == Errno::EACCES {
        return Refusal::Forbidden;
    }
    Refusal::Other
}

/// Writes `text` to a file of `/proc/self` (`uid_map`, `gid_map`,
/// `setgroups`), the error naming both.
fn write_proc(path: &str, text: &str) -> Result<(), NamespaceError> {
    let fail = |errno| NamespaceError {
        call: format!("write({path}, {text:?})"),
        errno,
        refusal: refusal_for(errno),
    };
    let file = open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(fail)?;
    // The kernel takes each of these files whole, in one write(2), or fails
    // the call: there is no rest to write.
    write(&file, text.as_bytes()).map_err(fail)?;
    Ok(())
}

// ANCHOR: enter
/// Enters a private network namespace and brings its `lo` up.
///
/// As root it unshares the network namespace alone. Otherwise (or where root may
/// not, as in a container without CAP_SYS_ADMIN) it unshares a user namespace
/// with it, maps uid and gid 0 inside to the caller's, and so holds CAP_NET_RAW
/// over the new network. Must be called while the process has one thread.
pub fn enter_private_namespace() -> Result<Namespace, NamespaceError> {
    let uid = geteuid().as_raw();
    let gid = getegid().as_raw();
    if uid == 0 {
        match unshare(CloneFlags::CLONE_NEWNET) {
            Ok(()) => {
                bring_lo_up()?;
                return Ok(Namespace::Network);
            }
            // Root without CAP_SYS_ADMIN (a container): try a user namespace.
            Err(Errno::EPERM) => {}
            Err(errno) => {
                return Err(NamespaceError {
                    call: "unshare(CLONE_NEWNET)".into(),
                    errno,
                    refusal: refusal_for(errno),
                });
            }
        }
    }
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(
        |errno| NamespaceError {
            call: "unshare(CLONE_NEWUSER | CLONE_NEWNET)".into(),
            errno,
            refusal: refusal_for(errno),
        },
    )?;
    // An unprivileged process may map only its own ids, and only after giving
    // up setgroups(2) in the new namespace.
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &format!("0 {uid} 1"))?;
    write_proc("/proc/self/gid_map", &format!("0 {gid} 1"))?;
    bring_lo_up()?;
    Ok(Namespace::UserAndNetwork {
        outer_uid: uid,
        outer_gid: gid,
    })
}
// ANCHOR_END: enter

/// Sets IFF_UP on `lo` with the SIOCGIFFLAGS/SIOCSIFFLAGS ioctls. A new network
/// namespace's `lo` starts down, and sending before this fails with
/// ENETUNREACH.
pub fn bring_lo_up() -> Result<(), NamespaceError> {
    let fail = |call: &str, errno: Errno| NamespaceError {
        call: call.into(),
        errno,
        refusal: Refusal::Other,
    };
    let fd: OwnedFd = socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| fail("socket(AF_INET, SOCK_DGRAM, 0)", e))?;
    // nix has no call for an interface's flags (the ioctl functions its
    // macros generate are unsafe as well), so this is libc's ioctl and its
    // struct ifreq, whose union only unsafe code can read.
    // SAFETY: ifreq is plain old data; all zeroes is a valid value, and leaves
    // no byte of the union uninitialised for the kernel to read.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: the fd is open, the request names an interface and has room for
    // the flags SIOCGIFFLAGS writes.
    let ret =
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) };
    Errno::result(ret).map_err(|e| fail("ioctl(SIOCGIFFLAGS, \"lo\")", e))?;
    // SAFETY: reading a union field: SIOCGIFFLAGS just filled the flags member.
    let flags = unsafe { request.ifr_ifru.ifru_flags };
    request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: as for SIOCGIFFLAGS; SIOCSIFFLAGS reads the name and the flags.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS, &request) };
    Errno::result(ret)
        .map_err(|e| fail("ioctl(SIOCSIFFLAGS, \"lo\", IFF_UP)", e))?;
    Ok(())
}
