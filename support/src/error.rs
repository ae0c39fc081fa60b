//! What can go wrong in the support code, each kind in its own words: a system
//! call the kernel refused carries the errno it returned; a value that is not
//! what it must be, or an I/O error of the standard library, carries no errno
//! it was not given.

use std::fmt;
use std::io;

use nix::errno::Errno;

use crate::advice::cap_net_raw_remedies;

/// A failure of the support code, or of a step's system call passed up
/// through a step's loop.
#[derive(Debug)]
pub enum Error {
    /// A system call failed: the call as it was made, with its arguments, and
    /// what the kernel answered:
    /// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP): EPERM: Operation not permitted`.
    Sys {
        /// The call as it was made.
        call: String,
        /// What the kernel answered.
        errno: Errno,
    },
    /// A value is not what it must be (an environment variable, a line of
    /// `/proc`, a time the kernel reported): where it came from, and what is
    /// wrong with it, the value quoted:
    /// `environment: SUDO_UID="abc" is not an id (decimal, 0 to 4294967294)`.
    Invalid {
        /// Where the value came from.
        what: String,
        /// What is wrong with it, the value included.
        why: String,
    },
    /// An I/O operation of the standard library failed: what was being done,
    /// and its error.
    Io {
        /// What was being done: `read(/proc/self/uid_map)`.
        what: String,
        /// The error it returned.
        source: io::Error,
    },
}

impl Error {
    /// A failed system call, named with its arguments.
    pub fn sys(call: impl Into<String>, errno: Errno) -> Error {
        Error::Sys {
            call: call.into(),
            errno,
        }
    }

    /// A value that is not what it must be.
    pub fn invalid(what: impl Into<String>, why: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            why: why.into(),
        }
    }

    /// A failed I/O operation of the standard library.
    pub fn io(what: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }

    /// The errno the kernel returned, if a system call failed.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Sys { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error().map(Errno::from_raw),
            Error::Invalid { .. } => None,
        }
    }

    /// Whether the kernel refused a call for lack of privilege (EPERM or
    /// EACCES).
    pub fn is_permission(&self) -> bool {
        matches!(self.errno(), Some(Errno::EPERM | Errno::EACCES))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sys { call, errno } => {
                write!(f, "{call}: {errno}")?;
                if self.is_permission() && call.starts_with("socket(") {
                    write!(f, "\n\n{}", cap_net_raw_remedies())?;
                }
                Ok(())
            }
            Error::Invalid { what, why } => write!(f, "{what}: {why}"),
            // An errno where the error carries one, in the words of a failed
            // call; the standard library's own text where it does not.
            Error::Io { what, source } => match source.raw_os_error() {
                Some(raw) => write!(f, "{what}: {}", Errno::from_raw(raw)),
                None => write!(f, "{what}: {source}"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Sys { .. } | Error::Invalid { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_shows_its_errno() {
        let error = Error::sys("connect(127.0.0.1:50001)", Errno::ENETUNREACH);
        assert_eq!(
            error.to_string(),
            "connect(127.0.0.1:50001): ENETUNREACH: Network is unreachable"
        );
        assert_eq!(error.errno(), Some(Errno::ENETUNREACH));
    }

    #[test]
    fn a_bad_value_has_no_errno() {
        let error = Error::invalid(
            "environment",
            "SUDO_UID=\"abc\" is not an id (decimal, 0 to 4294967294)",
        );
        assert_eq!(
            error.to_string(),
            "environment: SUDO_UID=\"abc\" is not an id (decimal, 0 to 4294967294)"
        );
        assert_eq!(error.errno(), None);
        assert!(!error.is_permission());
    }

    #[test]
    fn an_io_error_shows_an_errno_only_where_it_has_one() {
        let from_the_kernel = Error::io(
            "read(/proc/self/uid_map)",
            io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(
            from_the_kernel.to_string(),
            "read(/proc/self/uid_map): ENOENT: No such file or directory"
        );
        let no_errno = Error::io(
            "write(the pcap output)",
            io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer"),
        );
        assert_eq!(
            no_errno.to_string(),
            "write(the pcap output): failed to write whole buffer"
        );
        assert_eq!(no_errno.errno(), None);
    }

    #[test]
    fn eperm_from_socket_lists_the_remedies() {
        let error =
            Error::sys("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", Errno::EPERM);
        let text = error.to_string();
        assert!(
            text.starts_with(
                "socket(AF_INET, SOCK_RAW, IPPROTO_TCP): EPERM: Operation not \
                 permitted\n\nOpening a raw socket needs CAP_NET_RAW."
            ),
            "{text}"
        );
        assert!(text.contains("sudo setcap cap_net_raw+ep"), "{text}");
        // Another call's EPERM has its own causes (see advice).
        let write = Error::sys("write(32 bytes)", Errno::EPERM);
        assert_eq!(
            write.to_string(),
            "write(32 bytes): EPERM: Operation not permitted"
        );
    }
}
