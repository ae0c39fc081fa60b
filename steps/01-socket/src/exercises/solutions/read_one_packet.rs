//! Solution of exercise `read_one_packet`: the socket and one read, with the
//! system calls themselves.
//!
//! The protocol argument of a raw socket picks which packets it receives: with
//! `IPPROTO_TCP` (6) it gets a copy of every TCP segment the namespace
//! receives, whatever its ports, and reads each as a whole IPv4 packet. The
//! socket type is a datagram service: each read returns one packet, from its
//! first byte, and drops what the buffer cannot hold, so the read is offered
//! the whole buffer. (`RawSocket::recv` also passes `MSG_TRUNC`, so that a
//! packet that did not fit becomes an error instead of a shorter packet.)

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, socket,
};

// ANCHOR: solution
/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, closed when the `OwnedFd` is
/// dropped.
pub fn open_raw_tcp() -> nix::Result<OwnedFd> {
    socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Tcp,
    )
}

/// Reads one packet from `socket` into `buf`; returns how many bytes it holds.
pub fn read_one(socket: &OwnedFd, buf: &mut [u8]) -> nix::Result<usize> {
    // The whole buffer: one read is one packet, and what does not fit is lost.
    recv(socket.as_raw_fd(), buf, MsgFlags::empty())
}
// ANCHOR_END: solution
