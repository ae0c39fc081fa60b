//! Solution of exercise `second_port`: a server on two ports.
//!
//! A packet between the peer and port 50000 cannot also be between the peer
//! and port 50002, so the two points of view never disagree: the first verdict
//! that is not `Foreign` is the answer.

use std::net::SocketAddrV4;

use step_01_socket::Received;

use crate::exercises::SECOND_SERVER;
use crate::{SERVER, Verdict, classify};

/// What `packet` is to a server on ports 50000 and 50002 talking to `peer`.
pub fn classify_two_ports(packet: &Received<'_>, peer: SocketAddrV4) -> Verdict {
    [SERVER, SECOND_SERVER]
        .into_iter()
        .map(|me| classify(packet, me, peer))
        .find(|verdict| *verdict != Verdict::Foreign)
        .unwrap_or(Verdict::Foreign)
}
