//! Exercise `rst_in_syn_sent`: which RST may end a connection that is not
//! there yet.
//!
//! Our SYN is out, with initial sequence number ISS (so SND.UNA is ISS and
//! SND.NXT is ISS + 1). A RST comes. If it answers our SYN, nothing listens on
//! the peer's port: the connection is refused. But anyone can send a RST, and
//! an old one may still be on its way from an earlier connection between the
//! same ports. RFC 9293 (3.10.7.3) says: in SYN-SENT, a RST counts only if it
//! carries an ACK, and that ACK is acceptable, `ISS < SEG.ACK <= SND.NXT`,
//! that is, it acknowledges exactly our SYN. Any other RST is dropped without
//! a word (a RST is never answered).
//!
//! The code below obeys every RST. Edit it where the `TODO` says until the
//! check passes:
//!
//! ```text
//! cargo test -p step-06-handshake --test exercises exercise_rst_in_syn_sent -- --ignored
//! ```

use std::fmt;

use step_01_socket::SeqNumber;

use crate::Segment;

/// What a client in SYN-SENT does with a RST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It obeys: SYN-SENT -> CLOSED, "connection refused".
    Refused,
    /// It drops the RST and waits on.
    Ignored,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Refused => "refused: SYN-SENT -> CLOSED",
            Verdict::Ignored => "ignored: still SYN-SENT",
        })
    }
}

/// What a client whose SYN went out with `iss` does with `rst`.
pub fn on_rst(iss: SeqNumber, rst: &Segment) -> Verdict {
    let _ = (iss, rst.ack);
    // TODO: obey only a RST whose ACK acknowledges our SYN: ISS < ack <= ISS
    // + 1, compared modulo 2^32 (SeqNumber's own < and <= do that).
    Verdict::Refused
}
