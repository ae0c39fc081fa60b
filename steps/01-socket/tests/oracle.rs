//! etherparse as an independent oracle: its parser reads every field we emit as
//! the value we meant, its checksum equals ours, and its packet builder writes
//! the same TCP bytes for the same fields.

mod common;

use std::net::Ipv4Addr;

use common::*;
use etherparse::{
    NetSlice, PacketBuilder, SlicedPacket, TcpOptionElement, TransportSlice,
};
use pretty_assertions::assert_eq;
use step_01_socket::checksum;
use step_01_socket::ipv4::{Ipv4Packet, Ipv4Repr};
use step_01_socket::{SeqNumber, TcpFlags, TcpRepr, annotate_packet};

/// etherparse's view of a whole packet: its IPv4 header and TCP segment.
fn sliced(packet: &[u8]) -> (etherparse::Ipv4Slice<'_>, etherparse::TcpSlice<'_>) {
    let sliced = SlicedPacket::from_ip(packet).expect("etherparse parses it");
    let Some(NetSlice::Ipv4(ip)) = sliced.net else {
        panic!("etherparse sees no IPv4 header");
    };
    let Some(TransportSlice::Tcp(tcp)) = sliced.transport else {
        panic!("etherparse sees no TCP segment");
    };
    (ip, tcp)
}

/// The packet as a raw socket would read it: `ip` emitted in front of `tcp`.
fn whole_packet(ip: &Ipv4Repr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let mut bytes = vec![0u8; ip.header_len() + tcp.segment_len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut bytes[..]));
    bytes[ip.header_len()..]
        .copy_from_slice(&tcp.to_bytes(ip.src_addr, ip.dst_addr));
    bytes
}

/// Checks that etherparse reads back every field of `ip` and `tcp` from
/// `packet`, and that its checksums are the ones stored.
fn assert_etherparse_agrees(packet: &[u8], ip: &Ipv4Repr, tcp: &TcpRepr<'_>) {
    let (eth_ip, eth_tcp) = sliced(packet);
    let eth_ip = eth_ip.header();
    // IPv4 header
    assert_eq!(eth_ip.version(), 4);
    assert_eq!(eth_ip.ihl(), 5);
    assert_eq!(eth_ip.dcp().value(), 0);
    assert_eq!(eth_ip.ecn().value(), 0);
    assert_eq!(usize::from(eth_ip.total_len()), packet.len());
    assert_eq!(eth_ip.identification(), ip.ident);
    assert!(eth_ip.dont_fragment());
    assert!(!eth_ip.more_fragments());
    assert_eq!(eth_ip.fragments_offset().value(), 0);
    assert_eq!(eth_ip.ttl(), ip.ttl);
    assert_eq!(eth_ip.protocol().0, ip.protocol);
    assert_eq!(eth_ip.source_addr(), ip.src_addr);
    assert_eq!(eth_ip.destination_addr(), ip.dst_addr);
    assert_eq!(eth_ip.options(), b"");
    assert_eq!(
        eth_ip.header_checksum(),
        eth_ip.to_header().calc_header_checksum(),
        "IPv4 header checksum"
    );
    // TCP header
    assert_eq!(eth_tcp.source_port(), tcp.src_port);
    assert_eq!(eth_tcp.destination_port(), tcp.dst_port);
    assert_eq!(eth_tcp.sequence_number(), tcp.seq.0);
    let ack = tcp.ack_number.unwrap_or_default();
    assert_eq!(eth_tcp.acknowledgment_number(), ack.0);
    assert_eq!(eth_tcp.data_offset(), 5);
    assert_eq!(eth_tcp.ns(), false);
    assert_eq!(eth_tcp.fin(), tcp.flags.contains(TcpFlags::FIN));
    assert_eq!(eth_tcp.syn(), tcp.flags.contains(TcpFlags::SYN));
    assert_eq!(eth_tcp.rst(), tcp.flags.contains(TcpFlags::RST));
    assert_eq!(eth_tcp.psh(), tcp.flags.contains(TcpFlags::PSH));
    assert_eq!(eth_tcp.ack(), tcp.flags.contains(TcpFlags::ACK));
    assert_eq!(eth_tcp.urg(), tcp.flags.contains(TcpFlags::URG));
    assert_eq!(eth_tcp.ece(), tcp.flags.contains(TcpFlags::ECE));
    assert_eq!(eth_tcp.cwr(), tcp.flags.contains(TcpFlags::CWR));
    assert_eq!(eth_tcp.window_size(), tcp.window);
    assert_eq!(eth_tcp.urgent_pointer(), 0);
    assert_eq!(eth_tcp.options(), b"");
    assert_eq!(eth_tcp.payload(), tcp.payload);
    let theirs = eth_tcp
        .calc_checksum_ipv4(ip.src_addr.octets(), ip.dst_addr.octets())
        .expect("fits an IPv4 packet");
    assert_eq!(eth_tcp.checksum(), theirs, "TCP checksum");
}

/// The same segment from etherparse's packet builder; returns its TCP bytes.
fn built_by_etherparse(src: Ipv4Addr, dst: Ipv4Addr, tcp: &TcpRepr<'_>) -> Vec<u8> {
    let mut builder = PacketBuilder::ipv4(src.octets(), dst.octets(), 64).tcp(
        tcp.src_port,
        tcp.dst_port,
        tcp.seq.0,
        tcp.window,
    );
    let f = tcp.flags;
    if f.contains(TcpFlags::FIN) {
        builder = builder.fin();
    }
    if f.contains(TcpFlags::SYN) {
        builder = builder.syn();
    }
    if f.contains(TcpFlags::RST) {
        builder = builder.rst();
    }
    if f.contains(TcpFlags::PSH) {
        builder = builder.psh();
    }
    if let Some(ack) = tcp.ack_number {
        builder = builder.ack(ack.0);
    }
    if f.contains(TcpFlags::URG) {
        builder = builder.urg(0);
    }
    if f.contains(TcpFlags::ECE) {
        builder = builder.ece();
    }
    if f.contains(TcpFlags::CWR) {
        builder = builder.cwr();
    }
    let mut packet = Vec::new();
    builder.write(&mut packet, tcp.payload).expect("writes");
    packet.split_off(IP_HEADER_LEN)
}

#[test]
fn etherparse_reads_our_data_packet() {
    assert_etherparse_agrees(&DATA_PACKET, &data_ip_repr(), &data_repr());
    let (_, tcp) = sliced(&DATA_PACKET);
    assert_eq!(
        tcp.calc_checksum_ipv4(CLIENT.octets(), SERVER.octets()),
        Ok(DATA_CHECKSUM)
    );
    assert_eq!(whole_packet(&data_ip_repr(), &data_repr()), DATA_PACKET);
}

#[test]
fn etherparse_builds_the_same_data_segment() {
    assert_eq!(
        built_by_etherparse(CLIENT, SERVER, &data_repr()),
        data_segment()
    );
}

#[test]
fn etherparse_computes_the_full_checksum_of_the_kernel_syn() {
    let (ip, tcp) = sliced(&KERNEL_SYN);
    let ip = ip.header();
    assert_eq!(ip.header_checksum(), SYN_IP_CHECKSUM);
    assert_eq!(ip.to_header().calc_header_checksum(), SYN_IP_CHECKSUM);
    assert_eq!(tcp.checksum(), SYN_PARTIAL_CHECKSUM);
    let theirs = tcp.calc_checksum_ipv4(SERVER.octets(), SERVER.octets());
    assert_eq!(theirs, Ok(SYN_FULL_CHECKSUM));
    // Ours, from the named steps, with the checksum field zeroed.
    let mut segment = syn_segment().to_vec();
    segment[16..18].fill(0);
    assert_eq!(
        checksum::tcp_checksum(SERVER, SERVER, &segment),
        SYN_FULL_CHECKSUM
    );
}

#[test]
fn etherparse_decodes_the_syn_options_as_our_dump_does() {
    let (_, tcp) = sliced(&KERNEL_SYN);
    let options: Vec<TcpOptionElement> = tcp
        .options_iterator()
        .map(|option| option.expect("well-formed option"))
        .collect();
    assert_eq!(
        options,
        vec![
            TcpOptionElement::MaximumSegmentSize(65495),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Timestamp(0x81ba_e456, 0),
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(10),
        ]
    );
    let dump = annotate_packet(&KERNEL_SYN);
    for text in [
        "option MSS 65495",
        "option SACK permitted",
        "option timestamps 2176509014, echo 0",
        "option NOP",
        "option window scale 10",
    ] {
        assert!(dump.contains(text), "{text:?} missing from\n{dump}");
    }
}

#[test]
fn etherparse_agrees_on_random_segments() {
    let mut rng = Rng::new(0x5eed_0001);
    let mut odd = 0;
    for case in 0..200 {
        // Odd and even lengths, the empty payload and the largest of 1500 bytes.
        let payload_len = match case {
            0 => 0,
            1 => 1500,
            2 => 1,
            _ => rng.below(1501),
        };
        odd += payload_len % 2;
        let payload = rng.bytes(payload_len);
        let src = Ipv4Addr::new(127, rng.byte(), rng.byte(), rng.byte());
        let dst = Ipv4Addr::new(127, rng.byte(), rng.byte(), rng.byte());
        let flags = TcpFlags(rng.byte());
        let tcp = TcpRepr {
            src_port: rng.u16(),
            dst_port: rng.u16(),
            seq: SeqNumber(rng.u32()),
            ack_number: flags.contains(TcpFlags::ACK).then(|| SeqNumber(rng.u32())),
            flags,
            window: rng.u16(),
            payload: &payload,
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: 6,
            ident: rng.u16(),
            ttl: rng.byte(),
            payload_len: tcp.segment_len(),
        };
        let packet = whole_packet(&ip, &tcp);
        assert_etherparse_agrees(&packet, &ip, &tcp);
        assert_eq!(
            built_by_etherparse(src, dst, &tcp),
            &packet[IP_HEADER_LEN..],
            "case {case}: etherparse's builder disagrees"
        );
    }
    assert!(odd > 50, "only {odd} odd payload lengths");
}
