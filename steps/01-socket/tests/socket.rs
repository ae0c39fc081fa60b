//! What a real raw socket reads, checked inside a test: each test runs its
//! socket code on a thread of its own that first moves into a new network
//! namespace.
//!
//! `unshare(CLONE_NEWNET)` acts on the calling thread only, and unlike
//! `CLONE_NEWUSER` it works in a process with many threads (libtest's). It
//! needs CAP_SYS_ADMIN, so these tests run as root (as CI does) and print
//! `skipped: ...` otherwise. Every packet stays on that namespace's `lo`.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use std::net::{Ipv6Addr, SocketAddrV6};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6, recv, sendto, setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;
use step_01_socket::{
    ChecksumStatus, Family, MAX_PACKET, RawSocket, RecvError, SeqNumber, TcpFlags,
    TcpRepr, parse_received,
};
use testkit::in_private_network;

/// Both ends: with no bind(), the kernel writes the route's source address,
/// 127.0.0.1, into the IPv4 header, and the checksum must be summed for it.
const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A raw socket whose blocking reads give up after 200 ms.
fn open() -> RawSocket {
    let socket = RawSocket::open(Family::AfInet).expect("socket(SOCK_RAW)");
    socket
        .set_recv_timeout(Duration::from_millis(200))
        .expect("SO_RCVTIMEO");
    socket
}

/// Sends a PSH|ACK segment with `payload_len` bytes of 'x' from 127.0.0.1:50001
/// to 127.0.0.1:50000, where no kernel socket listens. Returns its length.
fn send_data(socket: &RawSocket, payload_len: usize) -> usize {
    let payload = vec![b'x'; payload_len];
    let segment = TcpRepr {
        src_port: 50001,
        dst_port: 50000,
        seq: SeqNumber(1),
        ack_number: Some(SeqNumber(1)),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: 65535,
        payload: &payload,
    }
    .to_bytes(LOCALHOST, LOCALHOST);
    let to = SockaddrIn::from(SocketAddrV4::new(LOCALHOST, 0));
    let sent = sendto(socket.as_raw_fd(), &segment, &to, MsgFlags::empty())
        .expect("sendto");
    assert_eq!(sent, segment.len());
    segment.len()
}

/// Every read of `socket` until it stays quiet: each a packet or an error.
fn drain(socket: &RawSocket, capacity: usize) -> Vec<Result<usize, RecvError>> {
    let mut buf = vec![0u8; capacity];
    let mut reads = Vec::new();
    loop {
        match socket.try_recv(&mut buf) {
            // The receive timeout passed: nothing more is queued.
            Ok(None) => return reads,
            Ok(Some(len)) => reads.push(Ok(len)),
            Err(error) => reads.push(Err(error)),
        }
    }
}

#[test]
fn a_read_starts_with_the_ipv4_header() {
    let first = in_private_network("a_read_starts_with_the_ipv4_header", || {
        let socket = open();
        let len = send_data(&socket, 12);
        let mut buf = vec![0u8; MAX_PACKET];
        let read = socket.recv(&mut buf).expect("a packet");
        (len, buf[..read].to_vec())
    });
    let Some((segment_len, packet)) = first else {
        return;
    };
    // We wrote 32 bytes of TCP; we read 20 bytes of IPv4 header in front.
    assert_eq!(segment_len, 32);
    assert_eq!(packet.len(), 52);
    assert_eq!(packet[0], 0x45, "version 4, IHL 5");
    let received = parse_received(&packet).expect("well-formed");
    assert_eq!(
        received.summary(),
        "TCP 127.0.0.1:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
    );
}

#[test]
fn every_raw_socket_reads_a_copy_of_every_segment() {
    let counts =
        in_private_network("every_raw_socket_reads_a_copy_of_every_segment", || {
            let sockets = [open(), open(), open()];
            send_data(&sockets[0], 12);
            // The data segment, and the kernel's RST answering it: to each.
            sockets
                .iter()
                .map(|socket| drain(socket, MAX_PACKET).len())
                .collect::<Vec<_>>()
        });
    let Some(counts) = counts else {
        return;
    };
    assert_eq!(counts, [2, 2, 2]);
}

#[test]
fn a_short_buffer_reports_truncation_and_65535_bytes_fit() {
    // The largest IPv4 packet: 20 + 20 + 65495 = 65535 bytes. lo's MTU is
    // 65536, so it travels whole, unfragmented.
    let reads = in_private_network(
        "a_short_buffer_reports_truncation_and_65535_bytes_fit",
        || {
            let (short, large) = (open(), open());
            send_data(&short, 65495);
            (drain(&short, 1500), drain(&large, MAX_PACKET))
        },
    );
    let Some((short, large)) = reads else {
        return;
    };
    // The first read of each is our own big segment (lo delivers it back);
    // the second is the kernel's 40-byte RST.
    assert_eq!(
        short,
        [
            Err(RecvError::Truncated {
                len: 65535,
                capacity: 1500
            }),
            Ok(40)
        ]
    );
    assert_eq!(large, [Ok(65535), Ok(40)]);
}

#[test]
fn the_kernels_syn_has_a_partial_checksum_and_its_rst_a_full_one() {
    let reads = in_private_network(
        "the_kernels_syn_has_a_partial_checksum_and_its_rst_a_full_one",
        || {
            let socket = open();
            // The kernel's own TCP: a SYN to a port where nothing listens,
            // answered by the kernel with RST|ACK.
            let target = SocketAddrV4::new(LOCALHOST, 50000);
            let refused = std::net::TcpStream::connect_timeout(
                &target.into(),
                Duration::from_secs(1),
            );
            assert!(refused.is_err(), "nothing listens on {target}");
            let mut buf = vec![0u8; MAX_PACKET];
            let mut packets = Vec::new();
            while let Some(len) = socket.try_recv(&mut buf).expect("recv") {
                packets.push(buf[..len].to_vec());
            }
            packets
        },
    );
    let Some(packets) = reads else {
        return;
    };
    let seen: Vec<(String, ChecksumStatus)> = packets
        .iter()
        .map(|bytes| {
            let packet = parse_received(bytes).expect("well-formed");
            (packet.tcp.flags().to_string(), packet.checksum_status())
        })
        .collect();
    // The SYN leaves through a socket with checksum offload, which lo never
    // completes; the RST is built and summed in full by the kernel itself.
    assert_eq!(
        seen,
        [
            ("[S]".to_owned(), ChecksumStatus::Partial),
            ("[R.]".to_owned(), ChecksumStatus::Correct)
        ]
    );
}

#[test]
fn an_empty_nonblocking_raw_socket_reads_eagain() {
    let Some(result) =
        in_private_network("an_empty_nonblocking_raw_socket_reads_eagain", || {
            let socket = RawSocket::open(Family::AfInet).expect("socket(SOCK_RAW)");
            socket.set_nonblocking().expect("O_NONBLOCK");
            // Nothing was sent in this namespace: nothing is queued.
            let mut buf = vec![0u8; MAX_PACKET];
            socket.recv(&mut buf)
        })
    else {
        return;
    };
    match result {
        Err(RecvError::Sys(error)) => assert_eq!(error.errno, Errno::EAGAIN),
        other => panic!("expected EAGAIN, got {other:?}"),
    }
}

#[test]
fn an_ipv6_raw_read_has_no_ipv6_header() {
    let Some((segment, read)) =
        in_private_network("an_ipv6_raw_read_has_no_ipv6_header", || {
            let open6 = || {
                socket(
                    AddressFamily::Inet6,
                    SockType::Raw,
                    SockFlag::empty(),
                    SockProtocol::Tcp,
                )
                .expect("socket(AF_INET6, SOCK_RAW, IPPROTO_TCP)")
            };
            let (sender, reader) = (open6(), open6());
            let timeout = TimeVal::new(0, 200_000);
            setsockopt(&reader, sockopt::ReceiveTimeout, &timeout).expect("timeout");
            // A TCP header from port 50001 to port 50000 and "Hello server".
            // The kernel computes no TCP checksum for us and a raw reader checks
            // none, so the field may stay 0 here: only the bytes matter.
            let mut segment = vec![0u8; 20];
            segment[0..2].copy_from_slice(&50001u16.to_be_bytes());
            segment[2..4].copy_from_slice(&50000u16.to_be_bytes());
            segment[12] = 5 << 4; // data offset: 5 words
            segment[13] = 0x18; // PSH|ACK
            segment.extend_from_slice(b"Hello server");
            let to =
                SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0));
            sendto(sender.as_raw_fd(), &segment, &to, MsgFlags::empty())
                .expect("sendto ::1");
            let mut buf = vec![0u8; MAX_PACKET];
            let len = recv(reader.as_raw_fd(), &mut buf, MsgFlags::empty())
                .expect("a packet");
            (segment, buf[..len].to_vec())
        })
    else {
        return;
    };
    // An IPv4 raw read starts with 0x45 and 20 bytes of header; an IPv6 one
    // starts with the TCP header itself: the ports come first.
    assert_eq!(read.len(), segment.len(), "no 40-byte IPv6 header in front");
    assert_eq!(read[0..4], [0xc3, 0x51, 0xc3, 0x50], "ports 50001 > 50000");
    assert_eq!(read, segment);
}
