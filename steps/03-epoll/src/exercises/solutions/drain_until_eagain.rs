//! Solution of `drain_until_eagain`: read until EAGAIN on every wake-up.
//!
//! Edge-triggered, epoll reports the socket once per change: when a packet
//! arrives on a socket that had none waiting, or more arrive. Whatever the
//! wake-up leaves queued is never reported again by itself, so the reader
//! empties the socket, and the socket being non-blocking, "empty" is the
//! EAGAIN of the read after the last packet. The same loop is right for a
//! level-triggered registration too: it only saves the waits that would
//! report the rest.

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

// ANCHOR: solution
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
        // Every packet queued: this wake-up is the only one they get.
        loop {
            match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(len) => packets.push(buf[..len].to_vec()),
                // Empty: the next packet will make a new edge.
                Err(Errno::EAGAIN) => break,
                Err(errno) => return Err(SysError::new("recv", errno)),
            }
        }
    }
    Ok(packets)
}
// ANCHOR_END: solution
