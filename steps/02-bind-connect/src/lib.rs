//! Step 2: `bind()` and `connect()` on a raw socket are address filters, and the
//! first segment we build by hand.
//!
//! On a raw socket, `bind(A)` keeps only packets sent *to* address A, and
//! `connect(B)` keeps only packets *from* address B and makes B the destination
//! of `write()`. Neither looks at the port: every raw TCP socket still sees every
//! segment between those addresses, whatever its ports. So the program itself
//! must [`classify`] what it reads by address *and* port.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;

use nix::sys::socket::{self, SockaddrIn};
use step_01_socket::{
    Family, RawSocket, Received, SeqNumber, SysError, TcpFlags, TcpRepr,
};

/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;

/// The server's end of the workbook's exchange.
pub const SERVER: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 50000);
/// The client's end of the workbook's exchange.
pub const CLIENT: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50001);
/// What the client says.
pub const REQUEST: &[u8; 12] = b"Hello server";
/// What the server answers.
pub const REPLY: &[u8; 12] = b"Hello client";
/// The receive window our segments advertise.
pub const WINDOW: u16 = 65535;

// ANCHOR: bind
/// `bind()`: from now on the socket reads only packets sent to `local`'s address.
///
/// The port is passed along (nix converts it to network byte order, the
/// `htons` the C tutorial forgot) and ignored by the kernel for raw sockets.
pub fn bind(socket: &RawSocket, local: SocketAddrV4) -> Result<(), SysError> {
    socket::bind(socket.as_raw_fd(), &SockaddrIn::from(local))
        .map_err(|e| SysError::new(format!("bind({local})"), e))
}
// ANCHOR_END: bind

// ANCHOR: connect
/// `connect()`: from now on the socket reads only packets from `peer`'s address,
/// and `write()` sends to it. No packet is sent: there is no handshake.
pub fn connect(socket: &RawSocket, peer: SocketAddrV4) -> Result<(), SysError> {
    socket::connect(socket.as_raw_fd(), &SockaddrIn::from(peer))
        .map_err(|e| SysError::new(format!("connect({peer})"), e))
}
// ANCHOR_END: connect

// ANCHOR: open_connected
/// `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, then [`bind`]`(local)` and
/// [`connect`]`(peer)`: one end of a conversation, which reads only what
/// `peer`'s address sends to `local`'s, and writes to `peer`.
///
/// The socket blocks, as every new socket does; a caller that waits with epoll
/// calls [`RawSocket::set_nonblocking`], one that reads with a timeout
/// [`RawSocket::set_recv_timeout`].
pub fn open_connected(
    local: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<RawSocket, SysError> {
    let socket = RawSocket::open(Family::AfInet)?;
    bind(&socket, local)?;
    connect(&socket, peer)?;
    Ok(socket)
}
// ANCHOR_END: open_connected

// ANCHOR: send
/// Writes one TCP segment (header + payload, no IPv4 header: the kernel adds
/// it) to the connected peer. A raw socket sends a whole packet or nothing, so a
/// short count would be a bug worth reporting.
pub fn send(socket: &RawSocket, segment: &[u8]) -> Result<(), SysError> {
    let sent = nix::unistd::write(socket, segment)
        .map_err(|e| SysError::new(format!("write({} bytes)", segment.len()), e))?;
    if sent != segment.len() {
        return Err(SysError::new(
            format!("write({} bytes) wrote {sent}", segment.len()),
            nix::errno::Errno::EIO,
        ));
    }
    Ok(())
}
// ANCHOR_END: send

// ANCHOR: segment
/// Builds a data segment from `src` to `dst`: PSH|ACK, our window, the payload,
/// and the checksum over pseudo-header, header and payload.
pub fn data_segment(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: SeqNumber,
    ack: SeqNumber,
    payload: &[u8],
) -> Vec<u8> {
    data_repr(src, dst, seq, ack, payload).to_bytes(*src.ip(), *dst.ip())
}

/// What a data segment from `src` to `dst` says: PSH|ACK, our window, the
/// payload. [`data_segment`] emits it; a program that sends one segment after
/// another can emit it into a buffer it reuses.
pub fn data_repr<'a>(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: SeqNumber,
    ack: SeqNumber,
    payload: &'a [u8],
) -> TcpRepr<'a> {
    TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack_number: Some(ack),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: WINDOW,
        payload,
    }
}
// ANCHOR_END: segment

// ANCHOR: classify
// ANCHOR: verdict
/// What a received packet is, seen from the endpoint `me` talking to `peer`:
/// who sent it, as far as addresses, ports and flags can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// From the peer's address and port to ours, no RST: the peer's segment.
    FromPeer,
    /// A RST between the peer's address and port and ours, in either
    /// direction. Our programs never send one: the kernel does, because no
    /// kernel socket owns these ports. From the peer, it answers a segment of
    /// ours; to the peer (read when both ends share an address), it answers
    /// the peer's segment in our name.
    KernelReset,
    /// Our own segment, read back because `lo` delivers what it sends.
    OwnCopy,
    /// Anything else: other ports, other addresses, other programs.
    Foreign,
}
// ANCHOR_END: verdict

impl Verdict {
    /// Every verdict, in the order reports list them.
    pub const ALL: [Verdict; 4] = [
        Verdict::FromPeer,
        Verdict::KernelReset,
        Verdict::OwnCopy,
        Verdict::Foreign,
    ];

    /// A short, stable name for counting.
    pub fn reason(self) -> &'static str {
        match self {
            Verdict::FromPeer => "from-peer",
            Verdict::KernelReset => "kernel-rst",
            Verdict::OwnCopy => "own-copy",
            Verdict::Foreign => "foreign",
        }
    }

    /// What the verdict means, in one line.
    pub fn meaning(self) -> &'static str {
        match self {
            Verdict::FromPeer => "peer -> me, no RST: the peer's segment",
            Verdict::KernelReset => {
                "a RST between peer and me: the kernel's, no program sent it"
            }
            Verdict::OwnCopy => "me -> peer, no RST: ours, read back from lo",
            Verdict::Foreign => "anything else: other ports or addresses",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

// ANCHOR: classify_fn
/// Sorts a received packet by addresses *and* ports, which the kernel's filter
/// does not look at, then by the RST flag, which only the kernel sets here.
pub fn classify(
    packet: &Received<'_>,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Verdict {
    let (src, dst) = (packet.src(), packet.dst());
    let between_us = (src == peer && dst == me) || (src == me && dst == peer);
    if !between_us {
        Verdict::Foreign
    } else if packet.tcp.flags().contains(TcpFlags::RST) {
        Verdict::KernelReset
    } else if src == peer {
        Verdict::FromPeer
    } else {
        Verdict::OwnCopy
    }
}
// ANCHOR_END: classify_fn
// ANCHOR_END: classify
