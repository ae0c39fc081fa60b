//! Exercise `reply_segment`: answer a request, as the server.
//!
//! The server has read a request (a [`Received`] packet: IPv4 header, TCP
//! header, payload) and answers it with one data segment, built by
//! [`data_segment`]:
//! - it goes back where the request came from: the request's destination
//!   (address and port) is the reply's source, and its source the reply's
//!   destination;
//! - its sequence number is the server's own, `seq`;
//! - its acknowledgment number is the next byte the server expects from the
//!   client: the request's sequence number plus the length of its payload
//!   (sequence numbers wrap around at 2^32);
//! - its payload is [`REPLY`], "Hello client".
//!
//! The code below produces the wrong bytes. Edit it where the `TODO` says
//! until the check passes:
//!
//! ```text
//! cargo test -p step-02-bind-connect --test exercises exercise_reply_segment -- --ignored
//! ```

use step_01_socket::{Received, SeqNumber};

use crate::{REPLY, data_segment};

/// The server's "Hello client" answering `request`, starting at its own `seq`.
pub fn reply_segment(request: &Received<'_>, seq: SeqNumber) -> Vec<u8> {
    // TODO: send the reply back to where the request came from, and
    // acknowledge every byte of the request's payload, not just its start.
    let ack = request.tcp.seq_number();
    data_segment(request.src(), request.dst(), seq, ack, REPLY)
}
