//! `connect()` alone on a raw socket: it also binds the socket, to the source
//! address of the route to the peer, and a `bind()` after it fails. So a
//! program that filters by both addresses calls `bind()` first.
//!
//! Each test re-runs itself in a private network namespace (as an ordinary
//! user too); every packet stays on that namespace's `lo`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{SockaddrIn, getsockname};
use step_01_socket::{Family, MAX_PACKET, RawSocket, SeqNumber, parse_received};
use step_02_bind_connect::{CLIENT, REPLY, SERVER, bind, connect, data_segment};
use testkit::{Injector, in_private_network, with_ipv4_header};

/// A raw socket whose reads give up after 200 ms of quiet.
fn open() -> RawSocket {
    let socket = RawSocket::open(Family::AfInet).expect("socket(SOCK_RAW)");
    socket
        .set_recv_timeout(Duration::from_millis(200))
        .expect("SO_RCVTIMEO");
    socket
}

/// The address `socket` is bound to, as getsockname(2) reports it.
fn local_address(socket: &RawSocket) -> Ipv4Addr {
    let local: SockaddrIn = getsockname(socket.as_raw_fd()).expect("getsockname");
    local.ip()
}

#[test]
fn connect_alone_binds_the_routes_source_address() {
    let test = "connect_alone_binds_the_routes_source_address";
    let Some((before, after, read)) = in_private_network(test, || {
        // The client's socket, connected to the server, never bound.
        let socket = open();
        let before = local_address(&socket);
        connect(&socket, SERVER).expect("connect");
        let after = local_address(&socket);
        // The server's reply to the client, and the same reply sent to
        // 127.0.0.1, the address the route to the server starts from.
        let injector = Injector::open().expect("socket(IPPROTO_RAW)");
        let to_self = SocketAddrV4::new(Ipv4Addr::LOCALHOST, CLIENT.port());
        for (ident, dst) in [(1, CLIENT), (2, to_self)] {
            let reply =
                data_segment(SERVER, dst, SeqNumber(1), SeqNumber(13), REPLY);
            let packet = with_ipv4_header(*SERVER.ip(), *dst.ip(), ident, &reply);
            injector.send(&packet).expect("send");
        }
        let mut buf = vec![0u8; MAX_PACKET];
        let mut read = Vec::new();
        while let Some(len) = socket.try_recv(&mut buf).expect("recv") {
            let packet = parse_received(&buf[..len]).expect("well-formed");
            read.push(format!("{} > {}", packet.src(), packet.dst()));
        }
        (before, after, read)
    }) else {
        return;
    };
    assert_eq!(
        before,
        Ipv4Addr::UNSPECIFIED,
        "a new socket is bound to nothing"
    );
    // The route to 127.0.0.1 (lo's 127.0.0.0/8) has source 127.0.0.1.
    assert_eq!(after, Ipv4Addr::LOCALHOST);
    // Bound to 127.0.0.1 now, the socket misses the reply to the client. It
    // reads the one to 127.0.0.1, and the kernel's RST answering it, which
    // goes from 127.0.0.1 to 127.0.0.1 as well.
    assert_eq!(
        read,
        [
            "127.0.0.1:50000 > 127.0.0.1:50001",
            "127.0.0.1:50001 > 127.0.0.1:50000"
        ]
    );
}

#[test]
fn bind_after_connect_fails_with_einval() {
    let test = "bind_after_connect_fails_with_einval";
    let Some(result) = in_private_network(test, || {
        let socket = open();
        connect(&socket, SERVER).expect("connect");
        bind(&socket, CLIENT).map_err(|error| error.errno)
    }) else {
        return;
    };
    // A connected raw socket can no longer be bound: bind() first.
    assert_eq!(result, Err(Errno::EINVAL));
}
