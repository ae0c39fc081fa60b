//! Exercise `syn_segment`: build the SYN that opens a connection.
//!
//! A client at 127.0.0.2:50001 that wants to talk to 127.0.0.1:50000 first
//! sends a SYN: flags SYN and nothing else, its first sequence number (here
//! 1000), acknowledgment number 0 (ACK is not set, so there is nothing to
//! acknowledge), window 65535, no payload, and a checksum that is right for
//! these bytes and these two addresses.
//!
//! The code below starts from a data segment and changes it. It produces the
//! wrong bytes. Edit it where the `TODO` says until the check passes:
//!
//! ```text
//! cargo test -p step-01-socket --test exercises exercise_syn_segment -- --ignored
//! ```

use crate::exercises::{CLIENT, SERVER};
use crate::{SeqNumber, TcpFlags, TcpPacket, TcpRepr};

/// The client's SYN to the server: 20 bytes of TCP header, no payload.
pub fn syn_segment() -> Vec<u8> {
    // A data segment with no payload: PSH|ACK, seq 1, ack 1, checksum filled.
    let mut bytes = TcpRepr {
        src_port: CLIENT.port(),
        dst_port: SERVER.port(),
        seq: SeqNumber(1),
        ack_number: Some(SeqNumber(1)),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: 65535,
        payload: b"",
    }
    .to_bytes(*CLIENT.ip(), *SERVER.ip());

    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    // TODO: make it the SYN described above: sequence number 1000, flags SYN
    // only, acknowledgment number 0, and a checksum that fits the new bytes.
    tcp.set_flags(TcpFlags::SYN);
    bytes
}
