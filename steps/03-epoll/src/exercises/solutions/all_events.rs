//! Solution of `all_events`: answer every socket that one `epoll_wait`
//! reported.
//!
//! `epoll_wait` returns n and fills the first n slots of the array; each slot
//! is a different ready registration. Looking only at slot 0 leaves the others
//! unanswered: level-triggered, the next wait reports them again, one wait
//! late; edge-triggered, never again. So: a loop over all n.

use step_01_socket::parse_received;
use step_02_bind_connect::{REPLY, SERVER, Verdict, classify, data_segment};

use super::{ISN, Peer, Reply};
use crate::{Event, Flags};

/// The replies to every request that the sockets reported in `events` hold.
pub fn replies(events: &[Event], peers: &[Peer<'_>]) -> Vec<Reply> {
    // Every event, in the order the kernel returned them.
    events
        .iter()
        .filter_map(|event| answer(event, peers))
        .collect()
}

/// The reply to the request waiting in the socket `event` reports, if there
/// is one: the event must say the socket is readable, its token must be one
/// of `peers`, and the packet must come from that peer (not be the kernel's
/// RST, say).
fn answer(event: &Event, peers: &[Peer<'_>]) -> Option<Reply> {
    if !event.events().contains(Flags::EPOLLIN) {
        return None;
    }
    // The token says which socket this is: the timer's token is no peer.
    let peer = peers.iter().find(|peer| peer.token == event.data())?;
    let packet = parse_received(peer.waiting).ok()?;
    if classify(&packet, SERVER, peer.client) != Verdict::FromPeer {
        return None;
    }
    // Acknowledge every byte of the request: its seq plus its length.
    let request = packet.tcp_repr();
    let ack = request.seq + request.seq_len();
    let segment = data_segment(SERVER, peer.client, ISN, ack, REPLY);
    Some(Reply {
        to: peer.client,
        segment,
    })
}
