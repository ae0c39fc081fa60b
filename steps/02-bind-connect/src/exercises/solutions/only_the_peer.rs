//! Solution of exercise `only_the_peer`: bind and connect as the two address
//! filters of a raw socket.
//!
//! `bind(local)` keeps the packets whose destination is `local`; `connect(peer)`
//! keeps those whose source is `peer` (and makes `peer` the destination of
//! `write()`). Together: only what the peer's address sends to ours. The port
//! in both addresses is 0, because the kernel never looks at it for a raw
//! socket: the program still has to sort what it reads by port.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, bind, connect,
    socket,
};

// ANCHOR: solution
/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` that reads only the segments sent
/// from `peer` to `local`.
pub fn open_for_peer(local: Ipv4Addr, peer: Ipv4Addr) -> nix::Result<OwnedFd> {
    let socket = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Tcp,
    )?;
    // Only packets to our address...
    let local = SockaddrIn::from(SocketAddrV4::new(local, 0));
    bind(socket.as_raw_fd(), &local)?;
    // ...and only from the peer's. Bind first: connect() on an unbound raw
    // socket also binds it, to the route's source address.
    let peer = SockaddrIn::from(SocketAddrV4::new(peer, 0));
    connect(socket.as_raw_fd(), &peer)?;
    Ok(socket)
}
// ANCHOR_END: solution
