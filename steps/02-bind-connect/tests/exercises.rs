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

// The exercise `only_the_peer`: the learner's own bind and connect, run in a
// private network namespace.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::socket::{MsgFlags, recv};
use step_01_socket::{Family, MAX_PACKET, RawSocket};
use step_02_bind_connect::exercises::only_the_peer::open_for_peer;
use step_02_bind_connect::{REPLY, data_segment};
use testkit::{Injector, in_private_network};

/// A packet as one line: addresses and ports, flags, payload length.
fn one_line(bytes: &[u8]) -> String {
    match parse_received(bytes) {
        Ok(packet) => format!(
            "{} > {} {} len {}",
            packet.src(),
            packet.dst(),
            packet.tcp.flags(),
            packet.tcp.payload().len()
        ),
        Err(error) => format!("{} bytes, no TCP packet: {error}", bytes.len()),
    }
}

/// Every packet queued on `socket`, made non-blocking, read until EAGAIN; a
/// failed read ends the list with its error.
fn read_until_eagain(socket: &OwnedFd) -> Vec<String> {
    let flags = fcntl(socket, FcntlArg::F_GETFL).map(OFlag::from_bits_truncate);
    let made_nonblocking = flags.and_then(|flags| {
        fcntl(socket, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))
    });
    if let Err(errno) = made_nonblocking {
        return vec![format!("fcntl(O_NONBLOCK) on your socket failed: {errno}")];
    }
    let mut buf = vec![0u8; MAX_PACKET];
    let mut lines = Vec::new();
    // More than the namespace carries: a bound on the loop, whatever happens.
    for _ in 0..64 {
        match recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(len) => lines.push(one_line(&buf[..len.min(buf.len())])),
            Err(Errno::EAGAIN) => return lines,
            Err(errno) => {
                lines.push(format!("recv failed: {errno}"));
                return lines;
            }
        }
    }
    lines.push("(64 packets read, stopped)".into());
    lines
}

/// Opens the learner's socket for the client (127.0.0.2) talking to the
/// server (127.0.0.1), sends segments between these and other addresses, and
/// reports what the namespace carried and what the learner's socket read.
fn what_only_the_peer_reads() -> String {
    let (local, peer) = (*CLIENT.ip(), *SERVER.ip());
    let socket = match open_for_peer(local, peer) {
        Ok(socket) => socket,
        Err(errno) => {
            return format!("open_for_peer({local}, {peer}) failed: {errno}\n");
        }
    };
    // A raw socket without bind or connect reads everything: once it has read
    // a segment and the kernel's RST answering it, both are queued on every
    // raw socket they are for. One at a time, so the order is always the same.
    let watcher = RawSocket::open(Family::AfInet).expect("socket(SOCK_RAW)");
    watcher
        .set_recv_timeout(Duration::from_secs(1))
        .expect("SO_RCVTIMEO");
    let injector = Injector::open().expect("socket(IPPROTO_RAW)");
    let sent = [
        (SERVER, CLIENT, "the peer, to us"),
        (addr(3, 50000), CLIENT, "a stranger, to us"),
        (
            SERVER,
            addr(4, 50001),
            "the peer, to another address of ours",
        ),
        (
            addr(1, 50002),
            addr(2, 50003),
            "the peer, to us, other ports",
        ),
    ];
    let mut text = format!(
        "open_for_peer({local}, {peer}): the client's socket, for the server\n\
         sent one at a time, as a raw socket without bind or connect reads them:\n"
    );
    let mut buf = vec![0u8; MAX_PACKET];
    for (ident, (src, dst, who)) in (1..).zip(sent) {
        let segment = data_segment(src, dst, SeqNumber(1), SeqNumber(1), REPLY);
        let packet = with_ipv4_header(*src.ip(), *dst.ip(), ident, &segment);
        injector.send(&packet).expect("send the segment");
        for label in [who, "the kernel's RST"] {
            let line = match watcher.try_recv(&mut buf).expect("recv") {
                Some(len) => one_line(&buf[..len]),
                None => "nothing within 1 s".into(),
            };
            let _ = writeln!(text, "  {line:<46}  {label}");
        }
    }
    let read = read_until_eagain(&socket);
    let _ = writeln!(
        text,
        "your socket read {} packet(s), then EAGAIN:",
        read.len()
    );
    for line in read {
        let _ = writeln!(text, "  {line}");
    }
    text
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-02-bind-connect --test exercises exercise_only_the_peer -- --ignored"
)]
fn exercise_only_the_peer() {
    let Some(text) =
        in_private_network("exercise_only_the_peer", what_only_the_peer_reads)
    else {
        return;
    };
    insta::assert_snapshot!("only_the_peer", text);
}
