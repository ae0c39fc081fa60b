//! Exercise `match_by_ack`: which request does this reply answer?
//!
//! The client sends `Hello server` again and again without waiting, so
//! several requests can be waiting at once, and their replies may come in any
//! order, twice, or not at all. A reply names the request it answers by its
//! acknowledgment number: the next byte the server expects, which is the
//! request's sequence number plus its payload length. Request 1 (seq 1, 12
//! bytes) is answered by ack 13, request 2 (seq 13) by ack 25.
//!
//! [`Requests`] keeps the client's list. [`Requests::on_reply`] must:
//! - return the number (counting from 1) of the request whose seq + length is
//!   the reply's ack, and mark it answered;
//! - say [`Ignored::Duplicate`] for a second reply to a request already
//!   answered (it is not a new answer);
//! - say [`Ignored::UnknownAck`] for an ack that ends no request we sent.
//!
//! The code below compares the ack with the request's *first* byte, and never
//! notices a repeat. Edit it where the `TODO` says until the check passes:
//!
//! ```text
//! cargo test -p step-04-echo --test exercises exercise_match_by_ack -- --ignored
//! ```

use step_01_socket::{Received, SeqNumber};

use crate::Ignored;

/// One request the client sent.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: SeqNumber,
    len: usize,
    answered: bool,
}

/// The client's requests, in the order they were sent.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    sent: Vec<Sent>,
}

impl Requests {
    /// No request sent yet.
    pub fn new() -> Requests {
        Requests::default()
    }

    /// Notes a request whose payload of `len` bytes starts at `seq`; returns
    /// its number, counting from 1.
    pub fn sent(&mut self, seq: SeqNumber, len: usize) -> u64 {
        self.sent.push(Sent {
            seq,
            len,
            answered: false,
        });
        self.sent.len() as u64
    }

    /// Takes a reply from the server (already checked: from the server's
    /// address and port, with data) and says which request it answers.
    pub fn on_reply(&mut self, reply: &Received<'_>) -> Result<u64, Ignored> {
        let ack = reply.tcp.ack_number();
        // TODO: the ack is the byte *after* the request (seq + len), not its
        // first byte; and a request already answered must not count twice.
        let Some(index) = self.sent.iter().position(|request| request.seq == ack)
        else {
            return Err(Ignored::UnknownAck);
        };
        self.sent[index].answered = true;
        Ok(index as u64 + 1)
    }

    /// One line per request: `request 1 seq 1:13 answered`.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        for (index, request) in self.sent.iter().enumerate() {
            lines.push(format!(
                "request {} seq {}:{} {}",
                index + 1,
                request.seq,
                request.seq + request.len,
                if request.answered {
                    "answered"
                } else {
                    "waiting"
                }
            ));
        }
        lines.join("\n")
    }
}
