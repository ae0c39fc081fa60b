//! Solution of exercise `syn_segment`: the client's SYN.
//!
//! Every field that differs from the data segment is set, and the checksum is
//! filled last: it sums every byte of the header, so any change made after it
//! would make it wrong again.

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
    tcp.set_seq_number(SeqNumber(1000));
    // Without ACK the acknowledgment field means nothing: send zero.
    tcp.set_ack_number(SeqNumber(0));
    tcp.set_flags(TcpFlags::SYN);
    // Last: the checksum covers every byte changed above, and the addresses.
    tcp.fill_checksum(*CLIENT.ip(), *SERVER.ip());
    bytes
}
