//! From the bytes of one read to checked headers: `parse_received`, the
//! checksum's three states, and the one-line summary.

mod common;

use std::net::SocketAddrV4;

use common::*;
use pretty_assertions::assert_eq;
use step_01_socket::checksum::{self, PROTO_TCP};
use step_01_socket::packet::checksum_status;
use step_01_socket::{
    ChecksumStatus, ParseError, SeqNumber, TcpFlags, TcpPacket, TcpRepr,
    annotate_packet, parse_received, summary,
};

#[test]
fn data_packet_parses_into_both_headers() {
    let packet = parse_received(&DATA_PACKET).expect("well-formed");
    assert_eq!(packet.src(), SocketAddrV4::new(CLIENT, 50001));
    assert_eq!(packet.dst(), SocketAddrV4::new(SERVER, 50000));
    assert_eq!(packet.tcp_repr(), data_repr());
    assert_eq!(packet.ip.header_len(), 20);
}

#[test]
fn kernel_syn_parses_with_its_options() {
    let packet = parse_received(&KERNEL_SYN).expect("well-formed");
    assert_eq!(packet.tcp_repr(), syn_repr());
    assert_eq!(packet.tcp.options(), syn_options());
}

#[test]
fn every_truncation_of_a_packet_is_an_error() {
    for packet in [&DATA_PACKET[..], &KERNEL_SYN[..]] {
        for len in 0..packet.len() {
            assert!(
                parse_received(&packet[..len]).is_err(),
                "a packet cut to {len} of {} bytes was accepted",
                packet.len()
            );
        }
    }
}

#[test]
fn a_packet_whose_total_length_cuts_the_tcp_header_is_an_error() {
    // A consistent IPv4 header around a cut TCP header: total length says
    // 20 + k bytes and exactly that many arrived.
    for packet in [&DATA_PACKET[..], &KERNEL_SYN[..]] {
        let tcp_header_len = usize::from(packet[32] >> 4) * 4;
        for k in 0..tcp_header_len {
            let mut bytes = packet[..IP_HEADER_LEN + k].to_vec();
            bytes[2..4].copy_from_slice(&((IP_HEADER_LEN + k) as u16).to_be_bytes());
            let expected = if k < 20 {
                ParseError::Truncated {
                    layer: "TCP header",
                    required: 20,
                    len: k,
                }
            } else {
                ParseError::DataOffsetPastEnd {
                    header_len: tcp_header_len,
                    len: k,
                }
            };
            assert_eq!(parse_received(&bytes).unwrap_err(), expected);
        }
    }
}

#[test]
fn a_protocol_other_than_tcp_is_rejected() {
    let mut bytes = DATA_PACKET.to_vec();
    bytes[9] = 17; // UDP
    assert_eq!(parse_received(&bytes).unwrap_err(), ParseError::NotTcp(17));
}

/// DATA_PACKET with 4 bytes of IPv4 options (three NOPs and an end of list):
/// IHL 6, total length 56.
fn data_packet_with_ip_options() -> Vec<u8> {
    let mut bytes = DATA_PACKET[..IP_HEADER_LEN].to_vec();
    bytes[0] = 0x46;
    bytes[2..4].copy_from_slice(&56u16.to_be_bytes());
    bytes.extend_from_slice(&[0x01, 0x01, 0x01, 0x00]);
    bytes.extend_from_slice(data_segment());
    let mut ip = step_01_socket::Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.fill_checksum();
    bytes
}

#[test]
fn ip_options_are_skipped_and_tcp_follows_them() {
    let bytes = data_packet_with_ip_options();
    let packet = parse_received(&bytes).expect("well-formed");
    assert_eq!(packet.ip.ihl(), 6);
    assert_eq!(packet.ip.header_len(), 24);
    assert_eq!(packet.ip.options(), &[0x01, 0x01, 0x01, 0x00]);
    assert!(packet.ip.verify_checksum());
    assert_eq!(packet.tcp_repr(), data_repr());
    // The TCP checksum does not cover IPv4 options: still correct.
    assert_eq!(packet.checksum_status(), ChecksumStatus::Correct);
    let dump = annotate_packet(&bytes);
    assert!(dump.contains("  0014  01 01 01 00"), "{dump}");
    assert!(dump.contains("  0018  c3 51"), "{dump}");
}

// ---------------------------------------------------------------------------
// The checksum's three states

#[test]
fn our_data_segment_has_a_correct_checksum() {
    let packet = parse_received(&DATA_PACKET).expect("well-formed");
    assert_eq!(packet.checksum_status(), ChecksumStatus::Correct);
}

#[test]
fn the_kernel_syn_has_a_partial_checksum() {
    let packet = parse_received(&KERNEL_SYN).expect("well-formed");
    assert_eq!(packet.checksum_status(), ChecksumStatus::Partial);
    // What "partial" means: the stored value is the pseudo-header's folded sum.
    let partial =
        checksum::fold(checksum::pseudo_header(SERVER, SERVER, PROTO_TCP, 40));
    assert_eq!(packet.tcp.checksum(), partial);
}

#[test]
fn a_flipped_bit_is_wrong_and_says_what_a_correct_sender_stores() {
    let mut bytes = DATA_PACKET.to_vec();
    bytes[40] ^= 0x01; // "Hello server" becomes "Iello server"
    let packet = parse_received(&bytes).expect("still well-formed");
    // What a correct sender of "Iello server" stores, built independently.
    let correct = TcpRepr {
        payload: b"Iello server",
        ..data_repr()
    }
    .to_bytes(CLIENT, SERVER);
    let expected = u16::from_be_bytes([correct[16], correct[17]]);
    assert_eq!(expected, 0xbad8);
    assert_eq!(packet.checksum_status(), ChecksumStatus::Wrong { expected });
    assert_eq!(
        packet.checksum_status().to_string(),
        "WRONG, expected 0xbad8"
    );
}

#[test]
fn a_flipped_bit_in_the_stored_checksum_is_wrong_too() {
    let mut bytes = DATA_PACKET.to_vec();
    bytes[IP_HEADER_LEN + 17] ^= 0x80;
    let packet = parse_received(&bytes).expect("still well-formed");
    assert_eq!(
        packet.checksum_status(),
        ChecksumStatus::Wrong {
            expected: DATA_CHECKSUM
        }
    );
}

#[test]
fn a_partial_checksum_cannot_see_damage() {
    // The partial sum covers only addresses and length: flip a bit of the
    // SYN's options and it is still "partial". This is why received segments
    // from the kernel cannot be checked on lo.
    let mut bytes = KERNEL_SYN.to_vec();
    bytes[45] ^= 0x01;
    let packet = parse_received(&bytes).expect("still well-formed");
    assert_eq!(packet.checksum_status(), ChecksumStatus::Partial);
    // Filled in full, the same SYN verifies, and a flipped bit then shows.
    let mut full = KERNEL_SYN.to_vec();
    full[36..38].copy_from_slice(&SYN_FULL_CHECKSUM.to_be_bytes());
    let packet = parse_received(&full).expect("well-formed");
    assert_eq!(packet.checksum_status(), ChecksumStatus::Correct);
    full[45] ^= 0x01;
    let packet = parse_received(&full).expect("still well-formed");
    assert!(matches!(
        packet.checksum_status(),
        ChecksumStatus::Wrong { .. }
    ));
}

#[test]
fn checksum_status_needs_a_segment_a_checksum_can_cover() {
    // It takes a checked view: a segment too long for the pseudo-header's
    // 16-bit length never gets that far, so no status has to be made up.
    let huge = vec![0u8; 70_000];
    assert_eq!(
        TcpPacket::new_checked(&huge[..]).unwrap_err(),
        ParseError::SegmentTooLong { len: 70_000 }
    );
    // The shortest segment has a status like any other.
    let mut bare = [0u8; 20];
    bare[12] = 5 << 4;
    let view = TcpPacket::new_checked(&bare[..]).expect("a bare header");
    let expected = view.expected_checksum(CLIENT, SERVER);
    assert_eq!(
        checksum_status(CLIENT, SERVER, &view),
        ChecksumStatus::Wrong { expected }
    );
    bare[16..18].copy_from_slice(&expected.to_be_bytes());
    let view = TcpPacket::new_checked(&bare[..]).expect("a bare header");
    assert_eq!(
        checksum_status(CLIENT, SERVER, &view),
        ChecksumStatus::Correct
    );
}

// ---------------------------------------------------------------------------
// The one-line summary

#[test]
fn summary_of_the_data_segment() {
    let packet = parse_received(&DATA_PACKET).expect("well-formed");
    assert_eq!(
        packet.summary(),
        "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
    );
}

#[test]
fn summary_of_the_kernel_syn_has_no_ack_and_no_range() {
    let packet = parse_received(&KERNEL_SYN).expect("well-formed");
    assert_eq!(
        packet.summary(),
        "TCP 127.0.0.1:43752 > 127.0.0.1:50000 [S] seq 4123525571 win 65495 len 0"
    );
}

#[test]
fn summary_of_the_kernels_reset() {
    let reset = TcpRepr {
        src_port: 50000,
        dst_port: 43752,
        seq: SeqNumber(0),
        ack_number: Some(SeqNumber(4_123_525_572)),
        flags: TcpFlags::RST | TcpFlags::ACK,
        window: 0,
        payload: b"",
    };
    let line = summary(
        SocketAddrV4::new(SERVER, 50000),
        SocketAddrV4::new(SERVER, 43752),
        &reset,
    );
    assert_eq!(
        line,
        "TCP 127.0.0.1:50000 > 127.0.0.1:43752 [R.] seq 0 ack 4123525572 win 0 len 0"
    );
}

#[test]
fn summary_range_wraps_around_2_to_the_32() {
    let repr = TcpRepr {
        seq: SeqNumber(u32::MAX - 1),
        ..data_repr()
    };
    let line = summary(
        SocketAddrV4::new(CLIENT, 50001),
        SocketAddrV4::new(SERVER, 50000),
        &repr,
    );
    assert_eq!(
        line,
        "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 4294967294:10 ack 1 win 65535 len 12"
    );
}
