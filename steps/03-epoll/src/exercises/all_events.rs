//! Exercise `all_events`: answer every socket that one `epoll_wait` reported.
//!
//! The server has one raw socket per client, each registered with its own
//! token: token 1 is connected to 127.0.0.2:50001, token 2 to 127.0.0.3:50002.
//! Both clients sent "Hello server", so one `epoll_wait` reports both sockets
//! readable, together with anything else that happened to be ready.
//!
//! `replies` gets the events that wait returned and, for each socket, the
//! packet waiting in it. It must return one "Hello client" reply for each
//! reported socket holding a request, in the order of the events. As shipped
//! it looks at the first event only, as the tutorial's loop does with
//! `events[0]`, so this wait answers one client. The other one waits for the
//! next `epoll_wait` (level-triggered) or for ever (edge-triggered, EPOLLET:
//! its socket does not become ready again, it stays ready).
//!
//! Check: `cargo test -p step-03-epoll --test exercises exercise_all_events -- --ignored`

use step_01_socket::parse_received;
use step_02_bind_connect::{REPLY, SERVER, Verdict, classify, data_segment};

use super::{ISN, Peer, Reply};
use crate::{Event, Flags};

/// The replies to every request that the sockets reported in `events` hold.
pub fn replies(events: &[Event], peers: &[Peer<'_>]) -> Vec<Reply> {
    let mut replies = Vec::new();
    // TODO: epoll_wait filled `events` with every registration that is ready,
    // but this looks at the first one only. Answer all of them.
    if let Some(event) = events.first() {
        replies.extend(answer(event, peers));
    }
    replies
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
