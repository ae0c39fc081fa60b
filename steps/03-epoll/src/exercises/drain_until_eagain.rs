//! Exercise `drain_until_eagain`: one wake-up of an edge-triggered epoll set,
//! and every packet it announced, with the system calls themselves.
//!
//! The server's raw socket is non-blocking. `wait_and_read` registers it in
//! `set` for EPOLLIN, edge-triggered (EPOLLET), with the token [`SOCKET`];
//! waits once, at most [`WAIT`]; and when the socket is reported readable,
//! reads it and returns the packets it read, each as `recv` returned it (IPv4
//! header first).
//!
//! Edge-triggered, epoll reports the socket when it *becomes* readable, once:
//! not again until a new packet arrives, however many are still queued. So a
//! wake-up must read until the socket is empty, which a non-blocking socket
//! says with EAGAIN. As shipped, this reads one packet per wake-up, and the
//! others wait unnoticed.
//!
//! The check runs in a private network namespace: the client sends three
//! requests, then the check calls `wait_and_read` once, waits again itself,
//! and pins what was read and what was left. Edit where the `TODO` says until
//! it passes:
//!
//! ```text
//! cargo test -p step-03-epoll --test exercises exercise_drain_until_eagain -- --ignored
//! ```

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, recv};
use step_01_socket::{MAX_PACKET, SysError};

use crate::{Event, EventSet, Flags};

/// The token the socket is registered with.
pub const SOCKET: u64 = 1;

/// The longest `wait_and_read` waits for the socket to become readable.
pub const WAIT: Duration = Duration::from_secs(1);

/// Registers `socket` (non-blocking) in `set` for EPOLLIN|EPOLLET, waits once,
/// and returns every packet queued on it when it was reported: none if the
/// wait ended without an event.
pub fn wait_and_read(
    set: &EventSet,
    socket: &OwnedFd,
) -> Result<Vec<Vec<u8>>, SysError> {
    set.add(socket, SOCKET, Flags::EPOLLIN | Flags::EPOLLET)?;
    let mut events = [Event::empty(); 8];
    let n = set.wait(&mut events, Some(WAIT))?;
    let mut packets = Vec::new();
    let mut buf = vec![0u8; MAX_PACKET];
    for event in &events[..n] {
        if event.data() != SOCKET || !event.events().contains(Flags::EPOLLIN) {
            continue;
        }
        // TODO: one read per wake-up. The socket was reported because it
        // became readable; epoll will not say so again for the packets still
        // queued. Read until recv fails with EAGAIN: that means empty.
        match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(len) => packets.push(buf[..len].to_vec()),
            Err(Errno::EAGAIN) => {}
            Err(errno) => return Err(SysError::new("recv", errno)),
        }
    }
    Ok(packets)
}
