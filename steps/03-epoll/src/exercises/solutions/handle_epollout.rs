//! Solution of `handle_epollout`: write when epoll reports EPOLLOUT, and ask
//! for EPOLLOUT only while something waits.
//!
//! EPOLLIN on the sender says a packet can be read (the kernel's RST), nothing
//! about the send buffer: writing then may fail with EAGAIN. EPOLLOUT says
//! there is room. And since a socket with room is writable nearly all the
//! time, a mask that keeps EPOLLOUT after the outbox is empty makes every
//! following wait return at once, with nothing to do: a busy loop. So the mask
//! has EPOLLOUT exactly while the outbox holds something.

use step_02_bind_connect::{CLIENT, SERVER, data_segment};

use super::{Decision, ISN, Outbox};
use crate::Flags;

/// Decides what to write, and what to watch for next, on an event of the
/// sender whose flags are `reported`. Every payload written leaves `outbox`.
pub fn on_sender(reported: Flags, outbox: &mut Outbox) -> Decision {
    let mut segments = Vec::new();
    // Write only when the kernel said there is room.
    if reported.contains(Flags::EPOLLOUT) {
        for payload in outbox.queue.drain(..) {
            let seq = outbox.next_seq;
            segments.push(data_segment(CLIENT, SERVER, seq, ISN, &payload));
            outbox.next_seq = seq + payload.len();
        }
    }
    // EPOLLOUT while something waits, EPOLLIN alone once nothing does.
    let interest = if outbox.queue.is_empty() {
        Flags::EPOLLIN
    } else {
        Flags::EPOLLIN | Flags::EPOLLOUT
    };
    Decision { segments, interest }
}
