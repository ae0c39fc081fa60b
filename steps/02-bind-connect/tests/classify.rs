//! classify() on packets as a raw socket reads them (IPv4 header + TCP
//! segment), built with step 01's Ipv4Repr and TcpRepr. No privileges needed.
//!
//! The kernel's filter (bind and connect) looks at addresses only; these tests
//! are about what it lets through and only the program can sort out.

use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::{SeqNumber, TcpFlags, TcpRepr, parse_received};
use step_02_bind_connect::{CLIENT, REQUEST, SERVER, Verdict, classify};
use testkit::with_ipv4_header;

const DATA: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);
const RST: TcpFlags = TcpFlags::RST;
const RST_ACK: TcpFlags = TcpFlags(TcpFlags::RST.0 | TcpFlags::ACK.0);

/// The tutorial's setup: both ends on 127.0.0.1, told apart by port only.
const SAME_SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50000);
const SAME_CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50001);

fn addr(a: u8, b: u8, c: u8, d: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), port)
}

/// What a read returns: a 20-byte IPv4 header (fixed id and TTL), then the
/// TCP segment with a correct checksum.
fn packet(src: SocketAddrV4, dst: SocketAddrV4, flags: TcpFlags) -> Vec<u8> {
    let payload: &[u8] = if flags.contains(TcpFlags::RST) {
        &[]
    } else {
        REQUEST
    };
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNumber(1),
        ack_number: flags.contains(TcpFlags::ACK).then_some(SeqNumber(1)),
        flags,
        window: if payload.is_empty() { 0 } else { 65535 },
        payload,
    };
    with_ipv4_header(
        *src.ip(),
        *dst.ip(),
        0x1234,
        &tcp.to_bytes(*src.ip(), *dst.ip()),
    )
}

/// The verdict for `bytes` read by the endpoint `me` talking to `peer`.
fn verdict(bytes: &[u8], me: SocketAddrV4, peer: SocketAddrV4) -> Verdict {
    let received = parse_received(bytes).expect("a well-formed packet");
    classify(&received, me, peer)
}

#[test]
fn the_constructed_packet_parses_back() {
    let bytes = packet(CLIENT, SERVER, DATA);
    let received = parse_received(&bytes).expect("well-formed");
    assert_eq!(received.src(), CLIENT);
    assert_eq!(received.dst(), SERVER);
    assert_eq!(received.tcp.payload(), REQUEST);
    assert_eq!(
        received.summary(),
        "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
    );
}

// Scenario A: different addresses.

#[test]
fn server_reads_the_request_as_from_peer() {
    let request = packet(CLIENT, SERVER, DATA);
    assert_eq!(verdict(&request, SERVER, CLIENT), Verdict::FromPeer);
}

#[test]
fn client_reads_the_kernels_rst_as_kernel_rst() {
    let rst = packet(SERVER, CLIENT, RST);
    assert_eq!(verdict(&rst, CLIENT, SERVER), Verdict::KernelReset);
}

#[test]
fn a_rst_with_ack_from_the_peer_is_kernel_rst_too() {
    // The kernel sets ACK on its RST when the segment it answers had none.
    let rst = packet(SERVER, CLIENT, RST_ACK);
    assert_eq!(verdict(&rst, CLIENT, SERVER), Verdict::KernelReset);
}

#[test]
fn client_sorts_its_own_request_as_own_copy() {
    let request = packet(CLIENT, SERVER, DATA);
    assert_eq!(verdict(&request, CLIENT, SERVER), Verdict::OwnCopy);
}

#[test]
fn the_same_packet_has_a_verdict_per_point_of_view() {
    let request = packet(CLIENT, SERVER, DATA);
    let third = (addr(127, 0, 0, 3, 50000), addr(127, 0, 0, 4, 50001));
    assert_eq!(
        [
            verdict(&request, SERVER, CLIENT),
            verdict(&request, CLIENT, SERVER),
            verdict(&request, third.0, third.1),
        ],
        [Verdict::FromPeer, Verdict::OwnCopy, Verdict::Foreign]
    );
}

// A RST from the peer, and RSTs from elsewhere.

#[test]
fn a_rst_from_another_port_of_the_peers_address_is_foreign() {
    let rst = packet(addr(127, 0, 0, 1, 9), CLIENT, RST);
    assert_eq!(verdict(&rst, CLIENT, SERVER), Verdict::Foreign);
}

#[test]
fn a_rst_from_another_address_with_the_peers_port_is_foreign() {
    let rst = packet(addr(127, 0, 0, 3, 50000), CLIENT, RST);
    assert_eq!(verdict(&rst, CLIENT, SERVER), Verdict::Foreign);
}

#[test]
fn a_rst_from_the_peer_to_another_of_our_ports_is_foreign() {
    let rst = packet(SERVER, addr(127, 0, 0, 2, 50002), RST);
    assert_eq!(verdict(&rst, CLIENT, SERVER), Verdict::Foreign);
}

// Scenario B: the same address on both ends; only ports tell them apart.

#[test]
fn same_address_server_reads_the_request_as_from_peer() {
    let request = packet(SAME_CLIENT, SAME_SERVER, DATA);
    assert_eq!(
        verdict(&request, SAME_SERVER, SAME_CLIENT),
        Verdict::FromPeer
    );
}

#[test]
fn same_address_client_reads_its_request_back_as_own_copy() {
    let request = packet(SAME_CLIENT, SAME_SERVER, DATA);
    assert_eq!(
        verdict(&request, SAME_CLIENT, SAME_SERVER),
        Verdict::OwnCopy
    );
}

#[test]
fn same_address_rst_is_kernel_rst_for_both_ends() {
    // The kernel's answer to the client's request: 50000 -> 50001. The client
    // reads it addressed to itself; the server reads it too (same address,
    // nothing filters it) and it is no copy of anything the server wrote.
    let rst = packet(SAME_SERVER, SAME_CLIENT, RST);
    assert_eq!(
        verdict(&rst, SAME_CLIENT, SAME_SERVER),
        Verdict::KernelReset
    );
    assert_eq!(
        verdict(&rst, SAME_SERVER, SAME_CLIENT),
        Verdict::KernelReset
    );
}

#[test]
fn same_address_other_ports_are_foreign() {
    let me = SAME_SERVER;
    let peer = SAME_CLIENT;
    let cases = [
        // Someone else on 127.0.0.1 talking to our port.
        packet(addr(127, 0, 0, 1, 40000), me, DATA),
        // The peer talking to another of our ports.
        packet(peer, addr(127, 0, 0, 1, 50002), DATA),
        // Two other programs on our address.
        packet(addr(127, 0, 0, 1, 50002), addr(127, 0, 0, 1, 50003), DATA),
        // A RST between two other ports of our address.
        packet(addr(127, 0, 0, 1, 50003), addr(127, 0, 0, 1, 50002), RST),
    ];
    for bytes in &cases {
        assert_eq!(verdict(bytes, me, peer), Verdict::Foreign, "{bytes:02x?}");
    }
}

#[test]
fn bind_port_9_would_see_port_50000_traffic_and_call_it_foreign() {
    // Scenario C: a socket bound to 127.0.0.1:9 and connected to
    // 127.0.0.2:7 reads the request (the kernel ignores both ports);
    // classify() does not.
    let request = packet(CLIENT, SERVER, DATA);
    let (me, peer) = (addr(127, 0, 0, 1, 9), addr(127, 0, 0, 2, 7));
    assert_eq!(verdict(&request, me, peer), Verdict::Foreign);
}

#[test]
fn reasons_are_stable_and_distinct() {
    let reasons: Vec<_> = Verdict::ALL.iter().map(|v| v.reason()).collect();
    assert_eq!(reasons, ["from-peer", "kernel-rst", "own-copy", "foreign"]);
    for verdict in Verdict::ALL {
        assert_eq!(verdict.to_string(), verdict.reason());
    }
}
