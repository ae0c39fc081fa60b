//! Exercise `read_one_packet`: open the raw socket and read one packet, with
//! the system calls themselves.
//!
//! `open_raw_tcp` must return `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`: an
//! IPv4 socket that receives a copy of every TCP segment in its network
//! namespace. `read_one` must read one packet from it into `buf` and return
//! its length: one read returns one whole packet, IPv4 header first, and
//! whatever does not fit in the buffer is lost.
//!
//! The check runs in a private network namespace. It opens your socket, makes
//! the kernel's own TCP send a SYN from 127.0.0.2:50001 to 127.0.0.1:50000,
//! where nothing listens (the kernel answers it with RST|ACK), and reads
//! twice with your `read_one` into a 65535-byte buffer. Its receive timeout
//! (1 s) makes a read that waits in vain fail with EAGAIN instead of waiting
//! for ever.
//!
//! Both functions below compile, and both are wrong. Edit them where the
//! `TODO`s say until the check passes:
//!
//! ```text
//! cargo test -p step-01-socket --test exercises exercise_read_one_packet -- --ignored
//! ```

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, socket,
};

/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, closed when the `OwnedFd` is
/// dropped.
pub fn open_raw_tcp() -> nix::Result<OwnedFd> {
    // TODO: the third argument picks what a raw socket receives. This socket
    // gets every UDP datagram, and the namespace has none; which protocol
    // carries the SYN?
    socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Udp,
    )
}

/// Reads one packet from `socket` into `buf`; returns how many bytes it holds.
pub fn read_one(socket: &OwnedFd, buf: &mut [u8]) -> nix::Result<usize> {
    // TODO: this offers the kernel only the first 20 bytes of `buf`, the size
    // of an IPv4 header without options, as if the rest of the packet would
    // come with the next read. Would it?
    let header = buf.len().min(20);
    recv(socket.as_raw_fd(), &mut buf[..header], MsgFlags::empty())
}
