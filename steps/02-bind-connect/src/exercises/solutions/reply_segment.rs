//! Solution of exercise `reply_segment`: the server's answer to a request.
//!
//! The ends swap, and the acknowledgment counts the request's bytes with
//! [`SeqNumber`]'s `+`, which wraps at 2^32 as TCP's sequence space does.

use step_01_socket::{Received, SeqNumber};

use crate::{REPLY, data_segment};

/// The server's "Hello client" answering `request`, starting at its own `seq`.
pub fn reply_segment(request: &Received<'_>, seq: SeqNumber) -> Vec<u8> {
    // The next byte expected: one past the last byte of the request.
    let ack = request.tcp.seq_number() + request.tcp.payload().len();
    // Back where it came from: from the request's destination to its source.
    data_segment(request.dst(), request.src(), seq, ack, REPLY)
}
