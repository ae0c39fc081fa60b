//! Exercise `second_port`: a server on two ports.
//!
//! The server now answers on two ports of 127.0.0.1: [`SERVER`] (50000) and
//! [`SECOND_SERVER`](crate::exercises::SECOND_SERVER) (50002). It still talks to one peer, `peer`. Sort what its
//! raw socket reads as [`classify`] does, but with either port as "me":
//! - the peer's segments to either port are [`Verdict::FromPeer`];
//! - RSTs between the peer and either port are [`Verdict::KernelReset`];
//! - the server's own segments from either port to the peer are
//!   [`Verdict::OwnCopy`];
//! - everything else, other ports included, stays [`Verdict::Foreign`].
//!
//! The code below knows only port 50000. Edit it where the `TODO` says until
//! the check passes:
//!
//! ```text
//! cargo test -p step-02-bind-connect --test exercises exercise_second_port -- --ignored
//! ```

use std::net::SocketAddrV4;

use step_01_socket::Received;

use crate::{SERVER, Verdict, classify};

/// What `packet` is to a server on ports 50000 and 50002 talking to `peer`.
pub fn classify_two_ports(packet: &Received<'_>, peer: SocketAddrV4) -> Verdict {
    // TODO: the server also answers on crate::exercises::SECOND_SERVER (port
    // 50002): a packet foreign to port 50000 may belong to that port. Sort it
    // from that port's point of view too.
    let me = SERVER;
    classify(packet, me, peer)
}
