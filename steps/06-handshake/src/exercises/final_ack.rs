//! Exercise `final_ack`: the number that acknowledges a whole segment.
//!
//! An ACK says "I have everything before this number". So the ACK of a
//! segment is its sequence number plus the sequence space it takes: its
//! payload, and one more for a SYN and one more for a FIN (RFC 9293, 3.4:
//! SEG.LEN). The handshake's last ACK acknowledges the peer's SYN-ACK (no
//! payload: the ISN + 1), and the very last ACK of a connection, from
//! TIME-WAIT, acknowledges the peer's FIN.
//!
//! The code below forgets something. Edit it where the `TODO` says until the
//! check passes:
//!
//! ```text
//! cargo test -p step-06-handshake --test exercises exercise_final_ack -- --ignored
//! ```

use step_01_socket::{SeqNumber, TcpFlags};

use crate::Segment;

/// The acknowledgment number that says all of `segment` has come.
pub fn ack_for(segment: &Segment) -> SeqNumber {
    // TODO: a SYN and a FIN take one sequence number each, as a byte of
    // data does (Segment::has tells which flags the segment carries).
    segment.seq + segment.payload.len()
}

/// The ACK our end sends, at `our_seq`, once all of `segment` has come.
pub fn acknowledge(segment: &Segment, our_seq: SeqNumber) -> Segment {
    let ack = Some(ack_for(segment));
    Segment::new(segment.dst, segment.src, our_seq, ack, TcpFlags(0), 65535)
}
