//! Opening `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` and reading from it.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, sockopt,
};

// ANCHOR: max_packet
/// The largest IPv4 packet, and so the buffer a read must offer: `lo`'s MTU is
/// 65536, and a shorter buffer silently loses the end of a large packet.
pub const MAX_PACKET: usize = 65535;
// ANCHOR_END: max_packet

/// A failed system call, named with its arguments:
/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP): EPERM: Operation not permitted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysError {
    /// The call as it was made.
    pub call: String,
    /// What the kernel answered.
    pub errno: Errno,
}

impl SysError {
    /// Names a failed call.
    pub fn new(call: impl Into<String>, errno: Errno) -> SysError {
        SysError {
            call: call.into(),
            errno,
        }
    }

    /// Whether the kernel refused for lack of privilege (EPERM or EACCES).
    pub fn is_permission(&self) -> bool {
        matches!(self.errno, Errno::EPERM | Errno::EACCES)
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.errno)?;
        if self.is_permission() && self.call.starts_with("socket(") {
            let program = program_name();
            write!(
                f,
                "\n\nOpening a raw socket needs CAP_NET_RAW. Remedies, any one of:\n\
                 \x20 - run the binary as root: cargo build, then\n\
                 \x20     sudo ./target/debug/{program}\n\
                 \x20 - give the binary the capability (lost on every rebuild):\n\
                 \x20     sudo setcap cap_net_raw+ep ./target/debug/{program}\n\
                 \x20 - run it in a private user+network namespace, where you hold it:\n\
                 \x20     unshare --user --map-root-user --net sh -c \\\n\
                 \x20       'ip link set lo up; ./target/debug/{program} ...'"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SysError {}

/// The running program's file name, for remedies the reader can paste.
pub(crate) fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "<step>".to_owned())
}

// ANCHOR: family
/// The two spellings of the IPv4 family. `PF_INET` ("protocol family") is the
/// historical name; Linux defines both as 2, and they open the same socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `AF_INET`, the name to use.
    AfInet,
    /// `PF_INET`, the same value under its old name.
    PfInet,
}
// ANCHOR_END: family

impl Family {
    /// The family as nix names it: `AddressFamily::Inet` for both, because
    /// both constants are 2.
    pub fn address_family(self) -> AddressFamily {
        AddressFamily::from_i32(self.value())
            .expect("AF_INET and PF_INET are both 2, which nix knows as Inet")
    }

    /// The C constant's value.
    pub fn value(self) -> libc::c_int {
        match self {
            Family::AfInet => libc::AF_INET,
            Family::PfInet => libc::PF_INET,
        }
    }

    /// The C constant's name.
    pub fn name(self) -> &'static str {
        match self {
            Family::AfInet => "AF_INET",
            Family::PfInet => "PF_INET",
        }
    }
}

/// An open `SOCK_RAW`/`IPPROTO_TCP` socket. The fd closes when it is dropped.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
}

/// What a read from a raw socket can return besides a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// The call failed; `EAGAIN` means nothing is queued on a non-blocking
    /// socket (or the receive timeout passed).
    Sys(SysError),
    /// The packet was longer than the buffer; its end was lost.
    Truncated {
        /// The packet's real length.
        len: usize,
        /// The buffer's length.
        capacity: usize,
    },
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Sys(e) => e.fmt(f),
            RecvError::Truncated { len, capacity } => write!(
                f,
                "a {len}-byte packet did not fit the {capacity}-byte buffer; its end was lost"
            ),
        }
    }
}

impl std::error::Error for RecvError {}

impl RawSocket {
    // ANCHOR: open
    /// `socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP)`.
    ///
    /// Without CAP_NET_RAW in the network namespace's user namespace this fails
    /// with EPERM; the error's text then lists the remedies.
    pub fn open(family: Family) -> Result<RawSocket, SysError> {
        let call = format!("socket({}, SOCK_RAW, IPPROTO_TCP)", family.name());
        let fd = socket::socket(
            family.address_family(),
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Tcp,
        )
        .map_err(|errno| SysError::new(call, errno))?;
        Ok(RawSocket { fd })
    }
    // ANCHOR_END: open

    /// Makes reads return `EAGAIN` instead of waiting when nothing is queued.
    pub fn set_nonblocking(&self) -> Result<(), SysError> {
        use nix::fcntl::{FcntlArg, OFlag, fcntl};
        let call = "fcntl(F_SETFL, O_NONBLOCK)";
        let flags = fcntl(self.fd.as_fd(), FcntlArg::F_GETFL)
            .map_err(|e| SysError::new("fcntl(F_GETFL)", e))?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(self.fd.as_fd(), FcntlArg::F_SETFL(flags))
            .map_err(|e| SysError::new(call, e))?;
        Ok(())
    }

    /// Makes a blocking read give up with `EAGAIN` after `timeout`.
    pub fn set_recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<(), SysError> {
        let tv = nix::sys::time::TimeVal::new(
            timeout.as_secs() as _,
            timeout.subsec_micros() as _,
        );
        socket::setsockopt(&self.fd, socket::sockopt::ReceiveTimeout, &tv)
            .map_err(|e| SysError::new("setsockopt(SO_RCVTIMEO)", e))
    }

    // ANCHOR: recv
    /// Reads one packet into `buf`: IPv4 header, TCP header and payload.
    ///
    /// Asks the kernel for the packet's real length (`MSG_TRUNC`), so a packet
    /// longer than `buf` is reported as [`RecvError::Truncated`] instead of
    /// silently cut. Offer [`MAX_PACKET`] bytes and that never happens.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, RecvError> {
        let len = socket::recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_TRUNC)
            .map_err(|e| RecvError::Sys(SysError::new("recv", e)))?;
        if len > buf.len() {
            return Err(RecvError::Truncated {
                len,
                capacity: buf.len(),
            });
        }
        Ok(len)
    }
    // ANCHOR_END: recv

    // ANCHOR: try_recv
    /// [`recv`](RawSocket::recv), with "nothing queued" as `Ok(None)` instead of
    /// an error: `EAGAIN` from a non-blocking socket with nothing queued, or
    /// from a blocking one whose receive timeout ([`set_recv_timeout`]) passed.
    /// So reading everything queued is `while let Some(len) = ...try_recv(..)?`.
    ///
    /// [`set_recv_timeout`]: RawSocket::set_recv_timeout
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<Option<usize>, RecvError> {
        // EAGAIN ends every drain: it is told apart before any error is made
        // for it, so that an echo's reads cost no memory.
        match socket::recv(self.fd.as_raw_fd(), buf, MsgFlags::MSG_TRUNC) {
            Err(Errno::EAGAIN) => Ok(None),
            Err(e) => Err(RecvError::Sys(SysError::new("recv", e))),
            Ok(len) if len > buf.len() => Err(RecvError::Truncated {
                len,
                capacity: buf.len(),
            }),
            Ok(len) => Ok(Some(len)),
        }
    }
    // ANCHOR_END: try_recv

    /// The `SO_TYPE` and `SO_PROTOCOL` the kernel reports for this socket,
    /// as the C constants' values (3 for `SOCK_RAW`, 6 for `IPPROTO_TCP`).
    pub fn type_and_protocol(&self) -> Result<(libc::c_int, libc::c_int), SysError> {
        let kind = socket::getsockopt(&self.fd, sockopt::SockType)
            .map_err(|e| SysError::new("getsockopt(SO_TYPE)", e))?;
        let protocol = socket::getsockopt(&self.fd, options::Protocol)
            .map_err(|e| SysError::new("getsockopt(SO_PROTOCOL)", e))?;
        // SockType is the C constant itself (nix declares it `repr(i32)`).
        Ok((kind as libc::c_int, protocol))
    }
}

/// Socket options nix 0.32 has no type for, made with its own macro, which
/// writes the `getsockopt` call (and its `unsafe`) once, for all of them.
mod options {
    // The macro calls itself and its two halves by their bare names.
    use nix::{getsockopt_impl, sockopt_impl};

    sockopt_impl!(
        /// `SO_PROTOCOL`: the protocol the socket was opened with, an int.
        Protocol,
        GetOnly,
        libc::SOL_SOCKET,
        libc::SO_PROTOCOL,
        libc::c_int
    );
}

impl AsFd for RawSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for RawSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<RawSocket> for OwnedFd {
    fn from(socket: RawSocket) -> OwnedFd {
        socket.fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP socket stands in for the raw one: `try_recv` only sees the fd, and
    /// opening a UDP socket needs no privilege.
    fn udp_as_raw() -> (RawSocket, std::net::UdpSocket) {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        sender
            .connect(receiver.local_addr().expect("local_addr"))
            .expect("connect");
        let socket = RawSocket {
            fd: OwnedFd::from(receiver),
        };
        (socket, sender)
    }

    #[test]
    fn both_family_names_are_the_same_address_family() {
        assert_eq!(Family::AfInet.address_family(), AddressFamily::Inet);
        assert_eq!(Family::PfInet.address_family(), AddressFamily::Inet);
    }

    #[test]
    fn type_and_protocol_are_read_with_nix() {
        // A UDP socket needs no privilege: SOCK_DGRAM (2), IPPROTO_UDP (17).
        let (socket, _) = udp_as_raw();
        assert_eq!(
            socket.type_and_protocol(),
            Ok((libc::SOCK_DGRAM, libc::IPPROTO_UDP))
        );
    }

    #[test]
    fn try_recv_turns_eagain_into_none_and_reads_what_is_queued() {
        let (socket, sender) = udp_as_raw();
        socket.set_nonblocking().expect("O_NONBLOCK");
        let mut buf = [0u8; 16];
        assert_eq!(socket.try_recv(&mut buf), Ok(None), "nothing queued yet");
        sender.send(b"hello").expect("send");
        // Loopback delivery is synchronous: the datagram is queued by now.
        assert_eq!(socket.try_recv(&mut buf), Ok(Some(5)));
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(socket.try_recv(&mut buf), Ok(None), "drained");
    }

    #[test]
    fn try_recv_still_reports_a_truncated_packet() {
        let (socket, sender) = udp_as_raw();
        socket.set_nonblocking().expect("O_NONBLOCK");
        sender.send(b"too long").expect("send");
        let mut buf = [0u8; 3];
        assert_eq!(
            socket.try_recv(&mut buf),
            Err(RecvError::Truncated {
                len: 8,
                capacity: 3
            })
        );
    }
}
