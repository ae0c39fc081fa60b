//! Exercise `handle_epollout`: write when epoll says so, and ask for EPOLLOUT
//! only while something waits.
//!
//! The client's raw socket (127.0.0.2:50001 to 127.0.0.1:50000) is registered
//! for EPOLLIN: the kernel's RSTs come back on it. Requests wait in an
//! [`Outbox`]. EPOLLOUT means "there is room in the send buffer now", and a
//! socket with room is writable nearly all the time; so a level-triggered
//! registration with EPOLLOUT in its mask makes every `epoll_wait` return at
//! once. The pattern: add EPOLLOUT to the mask while the outbox holds
//! something, write when epoll reports EPOLLOUT, and drop EPOLLOUT again when
//! the outbox is empty.
//!
//! `on_sender` is called with the flags of one event of the sender, and
//! returns the segments to write now and the interest mask to set with
//! EPOLL_CTL_MOD afterwards. As shipped it writes on any event, even one that
//! only says EPOLLIN (the send buffer may be full: the write would fail with
//! EAGAIN), and it keeps EPOLLOUT in the mask for good.
//!
//! Check: `cargo test -p step-03-epoll --test exercises exercise_handle_epollout -- --ignored`

use step_02_bind_connect::{CLIENT, SERVER, data_segment};

use super::{Decision, ISN, Outbox};
use crate::Flags;

/// Decides what to write, and what to watch for next, on an event of the
/// sender whose flags are `reported`. Every payload written leaves `outbox`.
pub fn on_sender(reported: Flags, outbox: &mut Outbox) -> Decision {
    let mut segments = Vec::new();
    // TODO: which of the reported flags says a write will not block? And once
    // the outbox is empty, should the mask still ask for EPOLLOUT?
    if reported.intersects(Flags::EPOLLIN | Flags::EPOLLOUT) {
        for payload in outbox.queue.drain(..) {
            let seq = outbox.next_seq;
            segments.push(data_segment(CLIENT, SERVER, seq, ISN, &payload));
            outbox.next_seq = seq + payload.len();
        }
    }
    Decision {
        segments,
        interest: Flags::EPOLLIN | Flags::EPOLLOUT,
    }
}
