//! Exercise `reversed_reply`: a server that reads the request backwards.
//!
//! The step's [`Server`](crate::Server) answers every request with
//! `Hello client`. This one answers with the request's own payload, reversed:
//! `Hello server` gets `revres olleH`, `abc` gets `cba`. The rest of the
//! exchange stays as the real server does it:
//! - only data segments from the peer (address *and* port, no RST) are
//!   answered; the kernel's RSTs, own copies, foreign and malformed packets
//!   get no reply;
//! - the reply's acknowledgment number is the request's sequence number plus
//!   the request's payload length;
//! - the reply's sequence number is the server's own, which starts at 1 and
//!   advances by the length of each reply it sends.
//!
//! Reference solution.

use std::net::SocketAddrV4;

use step_01_socket::SeqNumber;
use step_02_bind_connect::data_segment;

use super::ISN;
use crate::protocol::from_peer;
use crate::{Ignoring, Outgoing, ServerEvent};

/// A server at `me` that answers `peer` with its own words, reversed.
#[derive(Debug, Clone)]
pub struct ReversingServer {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    /// The sequence number of our next reply's first byte.
    next_seq: SeqNumber,
    requests: u64,
    /// The reply being written.
    out: Vec<u8>,
}

impl ReversingServer {
    /// A server at `me` that answers `peer`.
    pub fn new(me: SocketAddrV4, peer: SocketAddrV4) -> ReversingServer {
        ReversingServer {
            me,
            peer,
            next_seq: ISN,
            requests: 0,
            out: Vec::new(),
        }
    }

    /// Takes the bytes of one read (IPv4 header included) and says what to do.
    pub fn on_packet<'a>(&'a mut self, bytes: &'a [u8]) -> ServerEvent<'a> {
        let request = match from_peer(bytes, self.me, self.peer) {
            Ok(packet) => packet,
            Err((reason, packet)) => {
                return ServerEvent::Ignored(Ignoring { reason, packet });
            }
        };
        let tcp = request.tcp_repr();
        // The ack counts the bytes we received, whatever we answer with.
        let ack = tcp.seq + tcp.payload.len();
        // Byte by byte: the payload is bytes, not necessarily UTF-8 text.
        let payload: Vec<u8> = tcp.payload.iter().rev().copied().collect();
        self.out = data_segment(self.me, self.peer, self.next_seq, ack, &payload);
        // Our sequence space advances by what we sent: 3 bytes for "cba".
        self.next_seq += payload.len();
        self.requests += 1;
        let reply = Outgoing {
            number: self.requests,
            src: self.me,
            dst: self.peer,
            segment: &self.out,
        };
        ServerEvent::Request { request, reply }
    }
}
