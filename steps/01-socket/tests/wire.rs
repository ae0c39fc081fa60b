//! The IPv4 and TCP views and reprs, tested as smoltcp's `wire` module tests
//! them: on two fixed packets, field by field.
//!
//! - deconstruct: every getter of a view over the bytes;
//! - construct: every setter into a buffer of 0xa5 must give the bytes back;
//! - parse: the repr read from the view is the expected one, and the values
//!   `parse` refuses (version, fragments, port 0, a wrong checksum when asked);
//! - emit: the repr written into a buffer of 0xa5 (garbage checksum first) must
//!   give the bytes back;
//! - round trip: parse then emit gives back the same bytes, emit then parse the
//!   same repr.

mod common;

use common::*;
use pretty_assertions::assert_eq;
use step_01_socket::checksum::{self, PROTO_TCP};
use step_01_socket::ipv4::{
    self, FLAG_DF, FLAG_MF, FRAG_OFFSET_MASK, Ipv4Packet, Ipv4Repr,
};
use step_01_socket::{
    ChecksumCheck, ParseError, SeqNumber, TcpFlags, TcpPacket, TcpRepr,
};
use testkit::hex;

use ChecksumCheck::{Ignore, Verify};
use std::net::Ipv4Addr;
use step_01_socket::tcp::field as tcp_field;

#[test]
fn ipv4_deconstruct_data_packet() {
    let ip = Ipv4Packet::new_checked(&DATA_PACKET[..]).expect("well-formed");
    assert_eq!(ip.version(), 4);
    assert_eq!(ip.ihl(), 5);
    assert_eq!(ip.header_len(), 20);
    assert_eq!(ip.dscp_ecn(), 0);
    assert_eq!(ip.total_len(), 52);
    assert_eq!(ip.ident(), 1);
    assert_eq!(ip.flags_frag(), FLAG_DF);
    assert!(ip.dont_frag());
    assert!(!ip.is_fragment());
    assert_eq!(ip.ttl(), 64);
    assert_eq!(ip.protocol(), PROTO_TCP);
    assert_eq!(ip.checksum(), DATA_IP_CHECKSUM);
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), CLIENT);
    assert_eq!(ip.dst_addr(), SERVER);
    assert_eq!(ip.options(), b"");
    assert_eq!(ip.payload(), data_segment());
}

#[test]
fn ipv4_construct_data_packet() {
    let mut bytes = vec![0xa5; DATA_PACKET.len()];
    let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.set_version_ihl(5);
    ip.set_dscp_ecn(0);
    ip.set_total_len(52);
    ip.set_ident(1);
    ip.set_flags_frag(FLAG_DF);
    ip.set_ttl(64);
    ip.set_protocol(PROTO_TCP);
    ip.set_checksum(0xdead);
    ip.set_src_addr(CLIENT);
    ip.set_dst_addr(SERVER);
    ip.fill_checksum();
    bytes[IP_HEADER_LEN..].copy_from_slice(data_segment());
    assert_eq!(hex(&bytes), hex(&DATA_PACKET));
}

#[test]
fn ipv4_parse_data_packet() {
    let ip = Ipv4Packet::new_checked(&DATA_PACKET[..]).expect("well-formed");
    assert_eq!(Ipv4Repr::parse(&ip, Verify), Ok(data_ip_repr()));
}

#[test]
fn ipv4_emit_data_packet() {
    let repr = data_ip_repr();
    assert_eq!(repr.header_len(), IP_HEADER_LEN);
    let mut bytes = vec![0xa5; DATA_PACKET.len()];
    let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.set_checksum(0xdead);
    repr.emit(&mut ip);
    bytes[IP_HEADER_LEN..].copy_from_slice(data_segment());
    assert_eq!(hex(&bytes), hex(&DATA_PACKET));
}

// ---------------------------------------------------------------------------
// TCP segment of DATA_PACKET

#[test]
fn tcp_deconstruct_data_segment() {
    let tcp = TcpPacket::new_checked(data_segment()).expect("well-formed");
    assert_eq!(tcp.src_port(), 50001);
    assert_eq!(tcp.dst_port(), 50000);
    assert_eq!(tcp.seq_number(), SeqNumber(1));
    assert_eq!(tcp.ack_number(), SeqNumber(1));
    assert_eq!(tcp.data_offset(), 5);
    assert_eq!(tcp.header_len(), 20);
    assert_eq!(tcp.flags(), TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(tcp.window(), 65535);
    assert_eq!(tcp.checksum(), DATA_CHECKSUM);
    assert_eq!(tcp.urgent(), 0);
    assert_eq!(tcp.options(), b"");
    assert_eq!(tcp.payload(), b"Hello server");
    assert!(tcp.verify_checksum(CLIENT, SERVER));
    // The pseudo-header is part of the sum: the same bytes from another
    // address do not verify...
    assert!(!tcp.verify_checksum(std::net::Ipv4Addr::new(127, 0, 0, 3), SERVER));
    // ...but with the addresses swapped they do: the sum does not care about
    // the order of its words.
    assert!(tcp.verify_checksum(SERVER, CLIENT));
}

#[test]
fn tcp_construct_data_segment() {
    let mut bytes = vec![0xa5; data_segment().len()];
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_src_port(50001);
    tcp.set_dst_port(50000);
    tcp.set_seq_number(SeqNumber(1));
    tcp.set_ack_number(SeqNumber(1));
    tcp.set_data_offset(5);
    tcp.set_flags(TcpFlags::PSH | TcpFlags::ACK);
    tcp.set_window(65535);
    tcp.set_checksum(0xdead);
    tcp.set_urgent(0);
    tcp.payload_mut().copy_from_slice(b"Hello server");
    tcp.fill_checksum(CLIENT, SERVER);
    assert_eq!(hex(&bytes), hex(data_segment()));
}

#[test]
fn tcp_parse_data_segment() {
    let tcp = TcpPacket::new_checked(data_segment()).expect("well-formed");
    let repr = TcpRepr::parse(&tcp, CLIENT, SERVER, Verify).expect("valid");
    assert_eq!(repr, data_repr());
    assert_eq!(repr.ack_number, Some(SeqNumber(1)));
    assert_eq!(repr.header_len(), 20);
    assert_eq!(repr.segment_len(), 32);
    assert_eq!(repr.seq_len(), 12);
}

#[test]
fn tcp_emit_data_segment() {
    let repr = data_repr();
    let mut bytes = vec![0xa5; repr.segment_len()];
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_checksum(0xdead);
    repr.emit(&mut tcp, CLIENT, SERVER);
    assert_eq!(hex(&bytes), hex(data_segment()));
    assert_eq!(repr.to_bytes(CLIENT, SERVER), data_segment());
}

#[test]
fn tcp_emit_without_ack_flag_sends_ack_number_zero() {
    // An acknowledgment number means nothing without ACK: a repr has none,
    // and emit writes zero.
    let repr = TcpRepr {
        flags: TcpFlags::PSH,
        ack_number: None,
        ..data_repr()
    };
    let bytes = repr.to_bytes(CLIENT, SERVER);
    let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
    assert_eq!(tcp.ack_number(), SeqNumber(0));
    assert!(tcp.verify_checksum(CLIENT, SERVER));
}

#[test]
fn tcp_ack_number_is_read_only_with_the_ack_flag() {
    // PSH without ACK, and garbage in the acknowledgment field: the repr
    // holds no ack number, so nothing can read it as one.
    let mut bytes = data_segment().to_vec();
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_flags(TcpFlags::PSH);
    tcp.set_ack_number(SeqNumber(0x1234_5678));
    tcp.fill_checksum(CLIENT, SERVER);
    let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
    let repr = TcpRepr::parse(&tcp, CLIENT, SERVER, Verify).expect("valid");
    assert_eq!(repr.ack_number, None);
    assert_eq!(repr.flags, TcpFlags::PSH);
    // With ACK it is read, whatever its value, 0 included.
    let mut bytes = data_segment().to_vec();
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_ack_number(SeqNumber(0));
    tcp.fill_checksum(CLIENT, SERVER);
    let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
    let repr = TcpRepr::parse(&tcp, CLIENT, SERVER, Verify).expect("valid");
    assert_eq!(repr.ack_number, Some(SeqNumber(0)));
}

#[test]
#[should_panic(expected = "the ACK flag is set exactly when there is an ack_number")]
fn tcp_emit_refuses_an_ack_number_without_the_ack_flag() {
    let repr = TcpRepr {
        flags: TcpFlags::PSH,
        ack_number: Some(SeqNumber(1)),
        ..data_repr()
    };
    let _ = repr.to_bytes(CLIENT, SERVER);
}

#[test]
#[should_panic(expected = "the ACK flag is set exactly when there is an ack_number")]
fn tcp_emit_refuses_the_ack_flag_without_an_ack_number() {
    let repr = TcpRepr {
        ack_number: None,
        ..data_repr()
    };
    let _ = repr.to_bytes(CLIENT, SERVER);
}

// ---------------------------------------------------------------------------
// KERNEL_SYN: IPv4 header

#[test]
fn ipv4_deconstruct_kernel_syn() {
    let ip = Ipv4Packet::new_checked(&KERNEL_SYN[..]).expect("well-formed");
    assert_eq!(ip.version(), 4);
    assert_eq!(ip.ihl(), 5);
    assert_eq!(ip.header_len(), 20);
    assert_eq!(ip.dscp_ecn(), 0);
    assert_eq!(ip.total_len(), 60);
    assert_eq!(ip.ident(), 0xfdf0);
    assert_eq!(ip.flags_frag(), FLAG_DF);
    assert!(ip.dont_frag());
    assert!(!ip.is_fragment());
    assert_eq!(ip.ttl(), 64);
    assert_eq!(ip.protocol(), PROTO_TCP);
    assert_eq!(ip.checksum(), SYN_IP_CHECKSUM);
    // The kernel does fill the IPv4 header checksum, even on lo.
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), SERVER);
    assert_eq!(ip.dst_addr(), SERVER);
    assert_eq!(ip.options(), b"");
    assert_eq!(ip.payload(), syn_segment());
}

#[test]
fn ipv4_parse_and_emit_kernel_syn() {
    let ip = Ipv4Packet::new_checked(&KERNEL_SYN[..]).expect("well-formed");
    let repr = Ipv4Repr::parse(&ip, Verify).expect("valid");
    assert_eq!(repr, syn_ip_repr());
    let mut bytes = vec![0xa5; IP_HEADER_LEN];
    let mut view = Ipv4Packet::new_unchecked(&mut bytes[..]);
    view.set_checksum(0xdead);
    repr.emit(&mut view);
    assert_eq!(hex(&bytes), hex(&KERNEL_SYN[..IP_HEADER_LEN]));
}

// ---------------------------------------------------------------------------
// KERNEL_SYN: TCP segment, with options and a partial checksum

#[test]
fn tcp_deconstruct_kernel_syn() {
    let tcp = TcpPacket::new_checked(syn_segment()).expect("well-formed");
    assert_eq!(tcp.src_port(), 43752);
    assert_eq!(tcp.dst_port(), 50000);
    assert_eq!(tcp.seq_number(), SeqNumber(4_123_525_571));
    assert_eq!(tcp.ack_number(), SeqNumber(0));
    assert_eq!(tcp.data_offset(), 10);
    assert_eq!(tcp.header_len(), 40);
    assert_eq!(tcp.flags(), TcpFlags::SYN);
    assert_eq!(tcp.window(), 65495);
    assert_eq!(tcp.checksum(), SYN_PARTIAL_CHECKSUM);
    assert_eq!(tcp.urgent(), 0);
    assert_eq!(tcp.options(), syn_options());
    assert_eq!(tcp.payload(), b"");
    // Only the pseudo-header is summed in: it does not verify.
    assert!(!tcp.verify_checksum(SERVER, SERVER));
}

#[test]
fn tcp_construct_kernel_syn() {
    let mut bytes = vec![0xa5; syn_segment().len()];
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_src_port(43752);
    tcp.set_dst_port(50000);
    tcp.set_seq_number(SeqNumber(4_123_525_571));
    tcp.set_ack_number(SeqNumber(0));
    tcp.set_data_offset(10);
    tcp.set_flags(TcpFlags::SYN);
    tcp.set_window(65495);
    tcp.set_urgent(0);
    tcp.options_mut().copy_from_slice(syn_options());
    // What the kernel leaves for the network card: the folded pseudo-header sum,
    // not complemented.
    let partial =
        checksum::fold(checksum::pseudo_header(SERVER, SERVER, PROTO_TCP, 40));
    assert_eq!(partial, SYN_PARTIAL_CHECKSUM);
    tcp.set_checksum(partial);
    assert_eq!(hex(&bytes), hex(syn_segment()));
}

#[test]
fn tcp_fill_checksum_of_kernel_syn_gives_the_full_checksum() {
    let mut bytes = syn_segment().to_vec();
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.fill_checksum(SERVER, SERVER);
    assert_eq!(tcp.checksum(), SYN_FULL_CHECKSUM);
    assert!(tcp.verify_checksum(SERVER, SERVER));
}

#[test]
fn tcp_parse_kernel_syn() {
    let tcp = TcpPacket::new_checked(syn_segment()).expect("well-formed");
    // Only a partial checksum (offload on lo): parse it without verifying.
    let repr = TcpRepr::parse(&tcp, SERVER, SERVER, Ignore).expect("valid");
    assert_eq!(repr, syn_repr());
    assert_eq!(repr.ack_number, None);
    // A SYN occupies one sequence number though it carries no data.
    assert_eq!(repr.seq_len(), 1);
}

/// The SYN re-emitted from its repr: [`TcpRepr`] has no options, so emit writes
/// a 20-byte header (data offset 5) with a full checksum.
#[rustfmt::skip]
static SYN_WITHOUT_OPTIONS: [u8; 20] = [
    /* src port 43752 */    0xaa, 0xe8,
    /* dst port 50000 */    0xc3, 0x50,
    /* seq 4123525571 */    0xf5, 0xc8, 0x01, 0xc3,
    /* ack 0 */             0x00, 0x00, 0x00, 0x00,
    /* data offset 5 */     0x50,
    /* flags SYN */         0x02,
    /* window 65495 */      0xff, 0xd7,
    /* checksum (full) */   0x4c, 0x43,
    /* urgent pointer */    0x00, 0x00,
];

#[test]
fn tcp_emit_kernel_syn_drops_the_options() {
    let repr = syn_repr();
    let mut bytes = vec![0xa5; repr.segment_len()];
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_checksum(0xdead);
    repr.emit(&mut tcp, SERVER, SERVER);
    assert_eq!(hex(&bytes), hex(&SYN_WITHOUT_OPTIONS));
    let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
    assert_eq!(TcpRepr::parse(&tcp, SERVER, SERVER, Verify), Ok(repr));
}

// ---------------------------------------------------------------------------
// Truncated input: an error, never a panic

#[test]
fn ipv4_truncated_at_every_length_is_an_error() {
    use step_01_socket::ParseError::{TotalLenPastEnd, Truncated};
    for packet in [&DATA_PACKET[..], &KERNEL_SYN[..]] {
        let total_len = packet.len() as u16;
        for len in 0..packet.len() {
            let error = Ipv4Packet::new_checked(&packet[..len]).unwrap_err();
            let expected = if len < IP_HEADER_LEN {
                Truncated {
                    layer: "IPv4 header",
                    required: 20,
                    len,
                }
            } else {
                TotalLenPastEnd { total_len, len }
            };
            assert_eq!(error, expected, "cut to {len} bytes");
        }
        assert!(Ipv4Packet::new_checked(packet).is_ok());
    }
}

#[test]
fn tcp_header_truncated_at_every_length_is_an_error() {
    use step_01_socket::ParseError::{DataOffsetPastEnd, Truncated};
    for segment in [data_segment(), syn_segment()] {
        let header_len = usize::from(segment[12] >> 4) * 4;
        for len in 0..header_len {
            let error = TcpPacket::new_checked(&segment[..len]).unwrap_err();
            let expected = if len < 20 {
                Truncated {
                    layer: "TCP header",
                    required: 20,
                    len,
                }
            } else {
                DataOffsetPastEnd { header_len, len }
            };
            assert_eq!(error, expected, "cut to {len} bytes");
        }
    }
}

#[test]
fn tcp_alone_cannot_see_a_cut_payload() {
    // TCP has no length field: a segment cut inside its payload is a shorter,
    // well-formed segment. Only IPv4's total length (or the checksum) tells.
    let cut = &data_segment()[..25];
    let tcp = TcpPacket::new_checked(cut).expect("a shorter segment");
    assert_eq!(tcp.payload(), b"Hello");
    assert!(!tcp.verify_checksum(CLIENT, SERVER));
}

// ---------------------------------------------------------------------------
// Bad lengths and values

/// DATA_PACKET with one byte changed.
fn data_packet_with(index: usize, value: u8) -> Vec<u8> {
    let mut bytes = DATA_PACKET.to_vec();
    bytes[index] = value;
    bytes
}

#[test]
fn ipv4_ihl_below_5_is_rejected() {
    for ihl in 0..5 {
        let bytes = data_packet_with(ipv4::field::VER_IHL, 0x40 | ihl);
        let error = Ipv4Packet::new_checked(&bytes[..]).unwrap_err();
        assert_eq!(error, step_01_socket::ParseError::BadIhl(ihl));
    }
}

#[test]
fn ipv4_version_other_than_4_is_rejected() {
    for version in [0u8, 6, 15] {
        let mut bytes = data_packet_with(ipv4::field::VER_IHL, (version << 4) | 5);
        Ipv4Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        // The lengths fit, so check_len has nothing against it: the version
        // is a value, and values are parse's business.
        let ip = Ipv4Packet::new_checked(&bytes[..]).expect("lengths fit");
        let error = Ipv4Repr::parse(&ip, Verify).unwrap_err();
        assert_eq!(error, ParseError::BadVersion(version));
    }
}

/// DATA_PACKET with flags and fragment offset `flags_frag`, header checksum
/// recomputed.
fn data_packet_with_flags_frag(flags_frag: u16) -> Vec<u8> {
    let mut bytes = DATA_PACKET.to_vec();
    let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
    ip.set_flags_frag(flags_frag);
    ip.fill_checksum();
    bytes
}

#[test]
fn ipv4_fragments_are_refused_by_parse() {
    // MF set, an offset, or both: a piece of a larger packet.
    for (flags_frag, more_fragments, offset) in [
        (FLAG_MF, true, 0),
        (FLAG_MF | 1, true, 1),
        (1, false, 1),
        (FLAG_DF | FRAG_OFFSET_MASK, false, FRAG_OFFSET_MASK),
    ] {
        let bytes = data_packet_with_flags_frag(flags_frag);
        let ip = Ipv4Packet::new_checked(&bytes[..]).expect("lengths fit");
        assert!(ip.is_fragment());
        assert_eq!(
            Ipv4Repr::parse(&ip, Verify),
            Err(ParseError::Fragment {
                more_fragments,
                offset
            }),
            "flags and offset 0x{flags_frag:04x}"
        );
    }
    // DF alone, or no flag at all, is a whole packet.
    for flags_frag in [FLAG_DF, 0] {
        let bytes = data_packet_with_flags_frag(flags_frag);
        let ip = Ipv4Packet::new_checked(&bytes[..]).expect("lengths fit");
        assert!(!ip.is_fragment());
        assert!(Ipv4Repr::parse(&ip, Verify).is_ok());
    }
}

#[test]
fn ipv4_wrong_header_checksum_is_refused_only_when_asked() {
    let bytes = data_packet_with(ipv4::field::TTL, 63);
    let ip = Ipv4Packet::new_checked(&bytes[..]).expect("lengths fit");
    assert_eq!(
        Ipv4Repr::parse(&ip, Verify),
        Err(ParseError::BadChecksum {
            layer: "IPv4 header",
            stored: DATA_IP_CHECKSUM,
            expected: DATA_IP_CHECKSUM + 0x0100,
        })
    );
    let repr = Ipv4Repr::parse(&ip, Ignore).expect("not checked");
    assert_eq!(repr.ttl, 63);
}

#[test]
fn ipv4_header_longer_than_the_bytes_is_rejected() {
    // IHL 15 says 60 header bytes; only 52 arrived.
    let bytes = data_packet_with(ipv4::field::VER_IHL, 0x4f);
    let error = Ipv4Packet::new_checked(&bytes[..]).unwrap_err();
    assert_eq!(
        error,
        step_01_socket::ParseError::Truncated {
            layer: "IPv4 header with options",
            required: 60,
            len: 52,
        }
    );
}

#[test]
fn ipv4_total_length_past_the_bytes_received_is_rejected() {
    let bytes = data_packet_with(3, 53);
    let error = Ipv4Packet::new_checked(&bytes[..]).unwrap_err();
    assert_eq!(
        error,
        step_01_socket::ParseError::TotalLenPastEnd {
            total_len: 53,
            len: 52
        }
    );
}

#[test]
fn ipv4_total_length_below_the_header_is_rejected() {
    for total_len in [0u8, 19] {
        let bytes = data_packet_with(3, total_len);
        let error = Ipv4Packet::new_checked(&bytes[..]).unwrap_err();
        assert_eq!(
            error,
            step_01_socket::ParseError::BadTotalLen {
                total_len: u16::from(total_len),
                header_len: 20
            }
        );
    }
}

#[test]
fn ipv4_bytes_past_total_length_are_not_payload() {
    // Total length 40: the header and a bare TCP header; the 12 bytes of
    // "Hello server" after it are not part of this packet.
    let bytes = data_packet_with(3, 40);
    let ip = Ipv4Packet::new_checked(&bytes[..]).expect("well-formed");
    assert_eq!(ip.payload(), &DATA_PACKET[20..40]);
}

#[test]
fn tcp_data_offset_below_5_is_rejected() {
    for offset in 0..5u8 {
        let mut segment = data_segment().to_vec();
        segment[12] = offset << 4;
        let error = TcpPacket::new_checked(&segment[..]).unwrap_err();
        assert_eq!(error, step_01_socket::ParseError::BadDataOffset(offset));
    }
}

#[test]
fn tcp_data_offset_past_the_end_is_rejected() {
    for (offset, header_len) in [(9u8, 36), (15, 60)] {
        let mut segment = data_segment().to_vec();
        segment[12] = offset << 4;
        let error = TcpPacket::new_checked(&segment[..]).unwrap_err();
        assert_eq!(
            error,
            step_01_socket::ParseError::DataOffsetPastEnd {
                header_len,
                len: 32
            }
        );
    }
}

#[test]
fn tcp_segment_longer_than_65535_bytes_is_rejected() {
    // The pseudo-header counts the length in 16 bits: no checksum covers more.
    let mut segment = vec![0u8; 65_536];
    segment[12] = 5 << 4;
    let error = TcpPacket::new_checked(&segment[..]).unwrap_err();
    assert_eq!(error, ParseError::SegmentTooLong { len: 65_536 });
    assert!(TcpPacket::new_checked(&segment[..65_535]).is_ok());
}

#[test]
fn tcp_port_zero_is_refused_by_parse() {
    for (field, which) in [
        (tcp_field::SRC_PORT, "source"),
        (tcp_field::DST_PORT, "destination"),
    ] {
        let mut segment = data_segment().to_vec();
        segment[field].fill(0);
        TcpPacket::new_unchecked(&mut segment[..]).fill_checksum(CLIENT, SERVER);
        let tcp = TcpPacket::new_checked(&segment[..]).expect("lengths fit");
        assert_eq!(
            TcpRepr::parse(&tcp, CLIENT, SERVER, Verify),
            Err(ParseError::ZeroPort { which })
        );
    }
}

#[test]
fn tcp_wrong_checksum_is_refused_only_when_asked() {
    let mut segment = data_segment().to_vec();
    segment[20] ^= 0x01; // "Hello server" becomes "Iello server"
    let tcp = TcpPacket::new_checked(&segment[..]).expect("lengths fit");
    assert_eq!(
        TcpRepr::parse(&tcp, CLIENT, SERVER, Verify),
        Err(ParseError::BadChecksum {
            layer: "TCP",
            stored: DATA_CHECKSUM,
            expected: 0xbad8,
        })
    );
    let repr = TcpRepr::parse(&tcp, CLIENT, SERVER, Ignore).expect("not checked");
    assert_eq!(repr.payload, b"Iello server");
    // The kernel's SYN on lo: partial, so refused when verified.
    let syn = TcpPacket::new_checked(syn_segment()).expect("lengths fit");
    assert_eq!(
        TcpRepr::parse(&syn, SERVER, SERVER, Verify),
        Err(ParseError::BadChecksum {
            layer: "TCP",
            stored: SYN_PARTIAL_CHECKSUM,
            expected: SYN_FULL_CHECKSUM,
        })
    );
}

// ---------------------------------------------------------------------------
// Round trips

/// The payload of a view made inside a function outlives the view: it borrows
/// the bytes, not the view. (With a payload borrowed from the view, these
/// would not compile.)
fn tcp_payload_of(segment: &[u8]) -> &[u8] {
    TcpPacket::new_checked(segment)
        .expect("well-formed")
        .payload()
}

fn ip_payload_of(packet: &[u8]) -> &[u8] {
    Ipv4Packet::new_checked(packet)
        .expect("well-formed")
        .payload()
}

#[test]
fn payloads_borrow_the_buffer_not_the_view() {
    assert_eq!(tcp_payload_of(data_segment()), b"Hello server");
    assert_eq!(ip_payload_of(&DATA_PACKET), data_segment());
    let repr = {
        let view = TcpPacket::new_checked(data_segment()).expect("well-formed");
        TcpRepr::parse(&view, CLIENT, SERVER, Verify).expect("valid")
    };
    assert_eq!(repr.payload, b"Hello server");
}

/// A segment in the form `emit` writes, built field by field with random
/// values: data offset 5, reserved bits and urgent pointer 0, ports above 0,
/// the acknowledgment field 0 unless ACK is set, a full checksum.
fn random_segment(
    rng: &mut Rng,
    payload: &[u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
) -> Vec<u8> {
    let mut bytes = vec![0xa5; 20 + payload.len()];
    let mut tcp = TcpPacket::new_unchecked(&mut bytes[..]);
    tcp.set_src_port(rng.u16().max(1));
    tcp.set_dst_port(rng.u16().max(1));
    tcp.set_seq_number(SeqNumber(rng.u32()));
    let flags = TcpFlags(rng.byte());
    let ack = if flags.contains(TcpFlags::ACK) {
        rng.u32()
    } else {
        0
    };
    tcp.set_ack_number(SeqNumber(ack));
    tcp.set_data_offset(5);
    tcp.set_flags(flags);
    tcp.set_window(rng.u16());
    tcp.set_urgent(0);
    tcp.payload_mut().copy_from_slice(payload);
    tcp.fill_checksum(src, dst);
    bytes
}

#[test]
fn tcp_parse_then_emit_gives_back_the_same_bytes() {
    let mut rng = Rng::new(0x5eed_0013);
    let mut cases = vec![(data_segment().to_vec(), CLIENT, SERVER)];
    for _ in 0..2_000 {
        let len = rng.below(64);
        let payload = rng.bytes(len);
        let src = Ipv4Addr::new(127, rng.byte(), rng.byte(), rng.byte());
        let dst = Ipv4Addr::new(127, rng.byte(), rng.byte(), rng.byte());
        cases.push((random_segment(&mut rng, &payload, src, dst), src, dst));
    }
    for (bytes, src, dst) in cases {
        let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
        let repr = TcpRepr::parse(&tcp, src, dst, Verify).expect("valid");
        assert_eq!(hex(&repr.to_bytes(src, dst)), hex(&bytes));
    }
}

#[test]
fn tcp_emit_then_parse_gives_back_the_same_repr() {
    let mut rng = Rng::new(0x5eed_0014);
    let mut cases = vec![data_repr(), syn_repr()];
    let payloads: Vec<Vec<u8>> = (0..2_000)
        .map(|_| {
            let len = rng.below(64);
            rng.bytes(len)
        })
        .collect();
    for payload in &payloads {
        let flags = TcpFlags(rng.byte());
        cases.push(TcpRepr {
            src_port: rng.u16().max(1),
            dst_port: rng.u16().max(1),
            seq: SeqNumber(rng.u32()),
            ack_number: flags.contains(TcpFlags::ACK).then(|| SeqNumber(rng.u32())),
            flags,
            window: rng.u16(),
            payload,
        });
    }
    for repr in cases {
        let bytes = repr.to_bytes(CLIENT, SERVER);
        let tcp = TcpPacket::new_checked(&bytes[..]).expect("well-formed");
        assert_eq!(TcpRepr::parse(&tcp, CLIENT, SERVER, Verify), Ok(repr));
    }
}

#[test]
fn errors_say_what_the_value_must_be() {
    let bytes = data_packet_with(ipv4::field::VER_IHL, 0x44);
    let error = Ipv4Packet::new_checked(&bytes[..]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "IHL must be at least 5 words (20 bytes), got 4"
    );
    assert_eq!(error.reason(), "bad-ihl");
    let error = Ipv4Packet::new_checked(&DATA_PACKET[..30]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "total length 52 is past the 30 bytes received"
    );
    let fragment = ParseError::Fragment {
        more_fragments: true,
        offset: 0,
    };
    assert_eq!(
        fragment.to_string(),
        "a fragment (MF 1, offset 0) must be reassembled first, and nothing \
         here reassembles"
    );
    assert_eq!(fragment.reason(), "fragment");
    let port = ParseError::ZeroPort { which: "source" };
    assert_eq!(port.to_string(), "TCP source port must not be 0");
    let checksum = ParseError::BadChecksum {
        layer: "TCP",
        stored: 0xbbd8,
        expected: 0xbad8,
    };
    assert_eq!(
        checksum.to_string(),
        "TCP checksum must be 0xbad8, got 0xbbd8"
    );
    let long = ParseError::SegmentTooLong { len: 65_536 };
    assert_eq!(
        long.to_string(),
        "a TCP segment has at most 65535 bytes, got 65536"
    );
}
