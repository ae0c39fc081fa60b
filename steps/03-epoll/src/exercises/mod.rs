//! Exercises: the decisions an epoll loop makes, three as pure functions
//! whose output is TCP segments, so a snapshot test can check the bytes, and
//! one with the system calls themselves, checked by what it really read.
//!
//! Each exercise is one file here with a `// TODO:` where to edit. The
//! reference solutions live in `solutions/` and replace the starters when the
//! crate is built with `--features solutions`. Check one exercise with
//!
//! ```text
//! cargo test -p step-03-epoll --test exercises exercise_<name> -- --ignored
//! ```
//!
//! - [`all_events`](crate::exercises::all_events): answer every socket one
//!   `epoll_wait` reported, not only the first.
//! - [`timer_pacing`](crate::exercises::timer_pacing): send one request per
//!   timer expiration, including those that piled up between two reads.
//! - [`handle_epollout`](crate::exercises::handle_epollout): write only when
//!   epoll reports EPOLLOUT, and ask for EPOLLOUT only while something waits.
//! - [`drain_until_eagain`](crate::exercises::drain_until_eagain): register a
//!   non-blocking raw socket edge-triggered, wait once, and read it until
//!   EAGAIN, in a private network namespace.

use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::SeqNumber;

#[cfg(not(feature = "solutions"))]
pub mod all_events;
#[cfg(feature = "solutions")]
#[path = "solutions/all_events.rs"]
pub mod all_events;

#[cfg(not(feature = "solutions"))]
pub mod timer_pacing;
#[cfg(feature = "solutions")]
#[path = "solutions/timer_pacing.rs"]
pub mod timer_pacing;

#[cfg(not(feature = "solutions"))]
pub mod handle_epollout;
#[cfg(feature = "solutions")]
#[path = "solutions/handle_epollout.rs"]
pub mod handle_epollout;

/// A second client, for the server of [`all_events`] that talks to two.
pub const SECOND_CLIENT: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 3), 50002);

/// The sequence number of the first byte each end sends, as in the binary.
pub const ISN: SeqNumber = SeqNumber(1);

/// One of the server's raw sockets in [`all_events`]: there is one per
/// client, because `connect(client)` makes a raw socket read only what that
/// client's address sends.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// The token the socket was registered with (EPOLL_CTL_ADD); epoll hands
    /// it back with every event of this socket.
    pub token: u64,
    /// The client the socket is connected to.
    pub client: SocketAddrV4,
    /// The packet waiting in the socket: what `recv` would return, IPv4
    /// header, TCP header and payload.
    pub waiting: &'a [u8],
}

/// A segment for the server to write, and the client it goes to. It always
/// comes from [`SERVER`](step_02_bind_connect::SERVER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Where the segment goes.
    pub to: SocketAddrV4,
    /// TCP header and payload, checksum filled in: what `write` is given.
    pub segment: Vec<u8>,
}

/// What the client of [`handle_epollout`] has to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    /// Payloads waiting to be sent, oldest first; each becomes one segment.
    pub queue: Vec<Vec<u8>>,
    /// The sequence number of the next byte to send.
    pub next_seq: SeqNumber,
}

/// What [`handle_epollout`] decides on one event of the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Segments to write now (from CLIENT to SERVER), in order.
    pub segments: Vec<Vec<u8>>,
    /// The interest mask to give the sender with EPOLL_CTL_MOD afterwards.
    pub interest: crate::Flags,
}

#[cfg(not(feature = "solutions"))]
pub mod drain_until_eagain;
#[cfg(feature = "solutions")]
#[path = "solutions/drain_until_eagain.rs"]
pub mod drain_until_eagain;
