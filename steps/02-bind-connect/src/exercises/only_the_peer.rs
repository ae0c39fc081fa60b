//! Exercise `only_the_peer`: a raw socket that reads only what the peer sends
//! to us, with the system calls themselves.
//!
//! A new raw TCP socket receives a copy of every TCP segment in its network
//! namespace: the peer's, strangers', the kernel's RSTs. On a raw socket,
//! `bind()` and `connect()` are address filters: `bind(A)` keeps only packets
//! sent *to* address A, `connect(B)` only packets *from* address B. Neither
//! looks at ports (pass 0), and neither sends anything.
//!
//! `open_for_peer(local, peer)` must open `socket(AF_INET, SOCK_RAW,
//! IPPROTO_TCP)`, bind it to `local` and connect it to `peer`, so that it
//! reads only what `peer`'s address sends to `local`'s.
//!
//! The check runs in a private network namespace. It opens your socket for the
//! client, 127.0.0.2, talking to the server, 127.0.0.1; sends segments from the
//! server and from a stranger, to the client and elsewhere; then reads your
//! socket until EAGAIN and pins what it read.
//!
//! The code below opens the socket and stops there. Edit it where the `TODO`
//! says until the check passes:
//!
//! ```text
//! cargo test -p step-02-bind-connect --test exercises exercise_only_the_peer -- --ignored
//! ```

use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockProtocol, SockType, socket};

/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` that reads only the segments sent
/// from `peer` to `local`.
pub fn open_for_peer(local: Ipv4Addr, peer: Ipv4Addr) -> nix::Result<OwnedFd> {
    let socket = socket(
        AddressFamily::Inet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Tcp,
    )?;
    // TODO: as it is, the socket reads every TCP segment in the namespace.
    // Bind it to `local` and connect it to `peer`: nix's `bind` and `connect`
    // take the raw fd and an address, `SockaddrIn::from(SocketAddrV4)`.
    let _ = (local, peer);
    Ok(socket)
}
