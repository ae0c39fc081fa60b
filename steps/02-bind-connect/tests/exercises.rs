//! The checks of step 2's exercises (`src/exercises/`). Each pins the bytes or
//! the verdicts a correct answer produces, as annotated text.
//!
//! They are ignored in a plain `cargo test`, so the workspace stays green while
//! the starters are unsolved. Check one exercise with the command in its
//! `ignore` message; `--features solutions` runs them on the reference
//! solutions.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::checksum::verify_tcp;
use step_01_socket::{
    SeqNumber, TcpFlags, TcpPacket, TcpRepr, annotate_packet, parse_received,
};
use step_02_bind_connect::exercises::SECOND_SERVER;
use step_02_bind_connect::exercises::reply_segment::reply_segment;
use step_02_bind_connect::exercises::second_port::classify_two_ports;
use step_02_bind_connect::{CLIENT, REQUEST, SERVER};
use testkit::{annotated, with_ipv4_header};

/// A packet as a raw socket reads it: a 20-byte IPv4 header (id 1, TTL 64)
/// and a TCP segment from `src` to `dst` with a correct checksum.
fn packet(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: SeqNumber,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq,
        ack_number: flags.contains(TcpFlags::ACK).then_some(SeqNumber(1)),
        flags,
        window: if flags.contains(TcpFlags::RST) {
            0
        } else {
            65535
        },
        payload,
    };
    with_ipv4_header(*src.ip(), *dst.ip(), 1, &tcp.to_bytes(*src.ip(), *dst.ip()))
}

const DATA: TcpFlags = TcpFlags(TcpFlags::PSH.0 | TcpFlags::ACK.0);

/// The reply to `request` (a packet), shown as sent: ports and addresses are
/// read back from the reply's own bytes, the addresses from the request.
fn reply_text(request: &[u8], seq: SeqNumber) -> (String, Vec<u8>) {
    let received = parse_received(request).expect("a well-formed request");
    let reply = reply_segment(&received, seq);
    // The reply leaves from the address the request went to.
    let (from, to) = (*received.dst().ip(), *received.src().ip());
    let ports = TcpPacket::new_checked(&reply[..])
        .map(|view| (view.src_port(), view.dst_port()))
        .unwrap_or((0, 0));
    let src = SocketAddrV4::new(from, ports.0);
    let dst = SocketAddrV4::new(to, ports.1);
    (annotated(src, dst, &reply), reply)
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-02-bind-connect --test exercises exercise_reply_segment -- --ignored"
)]
fn exercise_reply_segment() {
    // The workbook's request: 127.0.0.2:50001 -> 127.0.0.1:50000, seq 1.
    let request = packet(CLIENT, SERVER, SeqNumber(1), DATA, REQUEST);
    let (first, reply) = reply_text(&request, SeqNumber(1));
    // Another client port, and a request whose 12 bytes cross 2^32.
    let other_client = SocketAddrV4::new(*CLIENT.ip(), 50003);
    let near_wrap = SeqNumber(u32::MAX - 5);
    let other = packet(other_client, SERVER, near_wrap, DATA, REQUEST);
    let (second, _) = reply_text(&other, SeqNumber(7000));
    let text = format!(
        "reply to {}:\n{first}\nreply to {}:\n{second}",
        parse_received(&request).expect("well-formed").summary(),
        parse_received(&other).expect("well-formed").summary(),
    );
    insta::assert_snapshot!("reply_segment", text);
    assert!(
        verify_tcp(*SERVER.ip(), *CLIENT.ip(), &reply),
        "the reply's checksum does not verify for 127.0.0.1 -> 127.0.0.2"
    );
}

fn addr(d: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, d), port)
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-02-bind-connect --test exercises exercise_second_port -- --ignored"
)]
fn exercise_second_port() {
    let peer = CLIENT;
    let rst = TcpFlags::RST;
    let seq = SeqNumber(1);
    let cases = [
        packet(peer, SERVER, seq, DATA, REQUEST),
        packet(peer, SECOND_SERVER, seq, DATA, REQUEST),
        packet(SECOND_SERVER, peer, seq, rst, b""),
        packet(SECOND_SERVER, peer, seq, DATA, b"Hello client"),
        packet(SERVER, peer, seq, rst, b""),
        packet(peer, addr(1, 50003), seq, DATA, REQUEST),
        packet(addr(3, 50001), SECOND_SERVER, seq, DATA, REQUEST),
        packet(addr(2, 50004), SECOND_SERVER, seq, DATA, REQUEST),
    ];
    let mut table = String::from(
        "a server on 127.0.0.1:50000 and :50002, peer 127.0.0.2:50001\n",
    );
    for bytes in &cases {
        let received = parse_received(bytes).expect("well-formed");
        let verdict = classify_two_ports(&received, peer);
        let _ = writeln!(table, "{:<11} {}", verdict.reason(), received.summary());
    }
    let _ = write!(
        table,
        "\nthe request to port 50002, as the raw socket reads it:\n{}",
        annotate_packet(&cases[1])
    );
    insta::assert_snapshot!("second_port", table);
}
