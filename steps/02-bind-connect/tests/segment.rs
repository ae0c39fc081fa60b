//! The segments the workbook builds by hand: the client's "Hello server" and
//! the server's "Hello client", byte for byte. No privileges needed.

use pretty_assertions::assert_eq;
use step_01_socket::checksum::verify_tcp;
use step_01_socket::{
    ChecksumCheck, ChecksumStatus, SeqNumber, TcpFlags, TcpPacket, TcpRepr,
};
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER, WINDOW, data_segment};
use testkit::{annotated, hex};

/// The client's request, written out field by field. The checksum was worked
/// out independently of this crate (a 10-line Python script summing the
/// pseudo-header 127.0.0.2, 127.0.0.1, 0, 6, 32 and the 32 bytes below).
static REQUEST_BYTES: [u8; 32] = [
    0xc3, 0x51, // source port 50001
    0xc3, 0x50, // destination port 50000
    0x00, 0x00, 0x00, 0x01, // sequence number 1
    0x00, 0x00, 0x00, 0x01, // acknowledgment number 1
    0x50, // data offset 5 words (20 bytes), reserved 0
    0x18, // flags PSH ACK
    0xff, 0xff, // window 65535
    0xbb, 0xd8, // checksum
    0x00, 0x00, // urgent pointer 0
    b'H', b'e', b'l', b'l', b'o', b' ', b's', b'e', b'r', b'v', b'e', b'r',
];

/// The server's reply: seq 1 (its own first byte), ack 13 (the client's 12
/// bytes starting at 1 have arrived). Checksum worked out as above, for
/// 127.0.0.1 to 127.0.0.2.
static REPLY_BYTES: [u8; 32] = [
    0xc3, 0x50, // source port 50000
    0xc3, 0x51, // destination port 50001
    0x00, 0x00, 0x00, 0x01, // sequence number 1
    0x00, 0x00, 0x00, 0x0d, // acknowledgment number 13
    0x50, // data offset 5 words (20 bytes), reserved 0
    0x18, // flags PSH ACK
    0xff, 0xff, // window 65535
    0xcb, 0xd4, // checksum
    0x00, 0x00, // urgent pointer 0
    b'H', b'e', b'l', b'l', b'o', b' ', b'c', b'l', b'i', b'e', b'n', b't',
];

fn request() -> Vec<u8> {
    data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST)
}

fn reply() -> Vec<u8> {
    let ack = SeqNumber(1) + REQUEST.len();
    data_segment(SERVER, CLIENT, SeqNumber(1), ack, REPLY)
}

#[test]
fn request_bytes_match_the_annotated_vector() {
    assert_eq!(hex(&request()), hex(&REQUEST_BYTES));
}

#[test]
fn reply_bytes_match_the_annotated_vector() {
    assert_eq!(hex(&reply()), hex(&REPLY_BYTES));
}

#[test]
fn a_segment_is_header_plus_payload_only() {
    // 20 + 12: what write() must be given. No IPv4 header, no spare buffer.
    assert_eq!(request().len(), 32);
    assert_eq!(reply().len(), 32);
}

#[test]
fn checksums_verify_for_their_own_addresses_only() {
    assert!(verify_tcp(*CLIENT.ip(), *SERVER.ip(), &request()));
    assert!(verify_tcp(*SERVER.ip(), *CLIENT.ip(), &reply()));
    // The pseudo-header's addresses are part of the sum: a segment built for
    // 127.0.0.2 -> 127.0.0.1 does not verify for 127.0.0.1 -> 127.0.0.1,
    // and the kernel would silently drop it (no RST comes back).
    let localhost = std::net::Ipv4Addr::LOCALHOST;
    assert!(!verify_tcp(localhost, *SERVER.ip(), &request()));
}

#[test]
fn one_flipped_payload_bit_breaks_the_checksum() {
    let mut segment = request();
    segment[20] ^= 0x01; // 'H' becomes 'I'
    let view = TcpPacket::new_checked(&segment[..]).expect("well-formed");
    let status =
        step_01_socket::packet::checksum_status(*CLIENT.ip(), *SERVER.ip(), &view);
    assert_eq!(status, ChecksumStatus::Wrong { expected: 0xbad8 });
}

#[test]
fn data_segment_sets_what_a_data_segment_needs() {
    let segment = request();
    let view = TcpPacket::new_checked(&segment[..]).expect("well-formed");
    let (client, server) = (*CLIENT.ip(), *SERVER.ip());
    let repr = TcpRepr::parse(&view, client, server, ChecksumCheck::Verify)
        .expect("a valid segment, checksum included");
    assert_eq!(repr.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(repr.ack_number, Some(SeqNumber(1)));
    assert_eq!(repr.window, WINDOW);
    assert_eq!(repr.payload, REQUEST);
    assert_eq!(view.header_len(), 20);
    assert_eq!(view.urgent(), 0);
}

#[test]
fn request_annotated() {
    insta::assert_snapshot!(annotated(CLIENT, SERVER, &request()));
}

#[test]
fn reply_annotated() {
    insta::assert_snapshot!(annotated(SERVER, CLIENT, &reply()));
}
