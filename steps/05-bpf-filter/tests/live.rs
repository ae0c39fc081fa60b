//! The filter on real raw sockets, with real kernel RSTs: each test runs its
//! socket code in a private network namespace of its own
//! (`testkit::in_private_network`), as an ordinary user as well as root.
//! Every packet stays on that namespace's `lo`.
//!
//! Each test keeps a witness next to the filtered socket: the same socket
//! without the filter. What the witness reads shows that the segments the
//! filtered socket did not read really were there.

mod common;

use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use step_01_socket::{Family, MAX_PACKET, RawSocket, SeqNumber, parse_received};
use step_02_bind_connect::{
    CLIENT, REPLY, REQUEST, SERVER, bind, connect, data_segment, send,
};
use step_05_bpf_filter::{Insn, REJECT, attach, drain_queued, echo_filter};
use testkit::in_private_network;

/// The stranger: the client's address, another port.
const STRANGER: SocketAddrV4 = SocketAddrV4::new(*CLIENT.ip(), 40000);

/// A raw socket whose reads give up after 100 ms of quiet, bound to `me` and
/// connected to `peer` if they are given.
fn raw(me: Option<SocketAddrV4>, peer: Option<SocketAddrV4>) -> RawSocket {
    let socket = RawSocket::open(Family::AfInet).expect("socket(SOCK_RAW)");
    if let Some(me) = me {
        bind(&socket, me).expect("bind");
    }
    if let Some(peer) = peer {
        connect(&socket, peer).expect("connect");
    }
    socket
        .set_recv_timeout(Duration::from_millis(100))
        .expect("SO_RCVTIMEO");
    socket
}

/// The server's end with the echo filter, as the demo sets it up: drained
/// under a program that rejects everything, then the echo filter attached.
fn filtered(me: Option<SocketAddrV4>, peer: Option<SocketAddrV4>) -> RawSocket {
    let socket = raw(me, peer);
    attach(&socket, &[Insn::ret(REJECT)]).expect("SO_ATTACH_FILTER, reject all");
    drain_queued(&socket).expect("drain");
    attach(&socket, &echo_filter(SERVER, CLIENT)).expect("SO_ATTACH_FILTER");
    socket
}

/// Every packet `socket` reads until it stays quiet.
fn read_all(socket: &RawSocket) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; MAX_PACKET];
    let mut packets = Vec::new();
    while let Some(len) = socket.try_recv(&mut buf).expect("recv") {
        packets.push(buf[..len].to_vec());
    }
    packets
}

fn summary(packet: &[u8]) -> String {
    parse_received(packet).expect("well-formed").summary()
}

/// The summary line of every packet `socket` reads until it stays quiet.
fn drain(socket: &RawSocket) -> Vec<String> {
    read_all(socket).iter().map(|p| summary(p)).collect()
}

/// The exchange's first round trip and a stranger's segment: the request,
/// the reply (which draws the kernel's RST back to the server), and a
/// segment from port 40000 of the client's address.
fn exchange() {
    let client = raw(Some(CLIENT), Some(SERVER));
    let server = raw(Some(SERVER), Some(CLIENT));
    let stranger = raw(Some(STRANGER), Some(SERVER));
    let one = SeqNumber(1);
    send(&client, &data_segment(CLIENT, SERVER, one, one, REQUEST)).expect("write");
    let ack = SeqNumber(13);
    send(&server, &data_segment(SERVER, CLIENT, one, ack, REPLY)).expect("write");
    send(
        &stranger,
        &data_segment(STRANGER, SERVER, one, one, REQUEST),
    )
    .expect("write");
}

const REQUEST_LINE: &str =
    "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12";
const RST_TO_THE_REPLY: &str =
    "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [R] seq 13 win 0 len 0";
const STRANGERS_LINE: &str =
    "TCP 127.0.0.2:40000 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12";

#[test]
fn the_filtered_socket_reads_exactly_the_peers_data_segment() {
    let test = "the_filtered_socket_reads_exactly_the_peers_data_segment";
    let Some((server, witness)) = in_private_network(test, || {
        let server = filtered(Some(SERVER), Some(CLIENT));
        let witness = raw(Some(SERVER), Some(CLIENT));
        exchange();
        (drain(&server), drain(&witness))
    }) else {
        return;
    };
    assert_eq!(server, [REQUEST_LINE]);
    // bind() and connect() let three through: the request, the kernel's RST
    // to the reply, the stranger's segment.
    assert_eq!(witness, [REQUEST_LINE, RST_TO_THE_REPLY, STRANGERS_LINE]);
}

#[test]
fn without_bind_and_connect_the_filter_alone_selects() {
    let test = "without_bind_and_connect_the_filter_alone_selects";
    let Some((server, witness)) = in_private_network(test, || {
        let server = filtered(None, None);
        let witness = raw(None, None);
        exchange();
        (drain(&server), drain(&witness))
    }) else {
        return;
    };
    assert_eq!(server, [REQUEST_LINE]);
    // Unbound and unconnected, a raw socket reads every TCP segment on lo:
    // the request, the kernel's RST to it, the reply, the RST to the reply,
    // the stranger's segment and the RST to that.
    assert_eq!(witness.len(), 6, "{witness:#?}");
    assert!(witness.contains(&RST_TO_THE_REPLY.to_owned()));
    assert!(witness.contains(&STRANGERS_LINE.to_owned()));
}

#[test]
fn ip_options_move_the_ports_and_the_filter_follows() {
    let test = "ip_options_move_the_ports_and_the_filter_follows";
    let Some((server, witness)) = in_private_network(test, || {
        let server = filtered(Some(SERVER), Some(CLIENT));
        let witness = raw(Some(SERVER), Some(CLIENT));
        let client = raw(Some(CLIENT), Some(SERVER));
        let stranger = raw(Some(STRANGER), Some(SERVER));
        // Three NOPs and an end-of-list: 4 bytes of options on every packet
        // these two sockets send, so IHL is 6 and TCP starts at 24.
        let options = [1u8, 1, 1, 0];
        for socket in [&client, &stranger] {
            // SAFETY: the fd is open; the pointer and length describe the
            // 4-byte array, which outlives the call; the kernel copies it.
            let ret = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_OPTIONS,
                    options.as_ptr().cast(),
                    options.len() as libc::socklen_t,
                )
            };
            Errno::result(ret).expect("setsockopt(IP_OPTIONS)");
        }
        let one = SeqNumber(1);
        send(&client, &data_segment(CLIENT, SERVER, one, one, REQUEST))
            .expect("write");
        send(
            &stranger,
            &data_segment(STRANGER, SERVER, one, one, REQUEST),
        )
        .expect("write");
        (read_all(&server), drain(&witness))
    }) else {
        return;
    };
    assert_eq!(server.len(), 1, "only the request gets through");
    assert_eq!(
        server[0][0], 0x46,
        "version 4, IHL 6: the options are there"
    );
    assert_eq!(summary(&server[0]), REQUEST_LINE);
    assert_eq!(witness, [REQUEST_LINE, STRANGERS_LINE]);
}

#[test]
fn segments_queued_before_the_filter_are_read_unless_drained() {
    let test = "segments_queued_before_the_filter_are_read_unless_drained";
    let Some((late, drained, after_drain)) = in_private_network(test, || {
        let stranger = raw(Some(STRANGER), Some(SERVER));
        let client = raw(Some(CLIENT), Some(SERVER));
        let one = SeqNumber(1);
        let strangers = data_segment(STRANGER, SERVER, one, one, REQUEST);
        let request = data_segment(CLIENT, SERVER, one, one, REQUEST);
        let echo = echo_filter(SERVER, CLIENT);

        // Attached after the stranger's segment arrived: it is still queued.
        let late = raw(Some(SERVER), Some(CLIENT));
        send(&stranger, &strangers).expect("write");
        attach(&late, &echo).expect("attach");
        send(&client, &request).expect("write");
        let late = drain(&late);

        // The same, drained under a reject-all program, then the filter;
        // the client's request, sent right after, is read, not drained.
        let server = raw(Some(SERVER), Some(CLIENT));
        send(&stranger, &strangers).expect("write");
        attach(&server, &[Insn::ret(REJECT)]).expect("attach reject-all");
        let drained = drain_queued(&server).expect("drain");
        attach(&server, &echo).expect("attach");
        send(&client, &request).expect("write");
        (late, drained, drain(&server))
    }) else {
        return;
    };
    assert_eq!(late, [STRANGERS_LINE, REQUEST_LINE]);
    assert_eq!(drained, 1);
    assert_eq!(after_drain, [REQUEST_LINE]);
}
