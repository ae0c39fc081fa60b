//! What the kernel does with the segments we write: it puts its own IPv4 header
//! in front of whatever we write, it answers a good segment to a port without a
//! socket with a RST, and it drops a segment with a wrong checksum silently,
//! counting it in TcpInCsumErrors, while raw sockets still read it.
//!
//! Each test runs its socket code on a thread that first moves into a new
//! network namespace (`unshare(CLONE_NEWNET)` acts on the calling thread only).
//! That needs CAP_SYS_ADMIN: as root (as in CI) the tests run, otherwise they
//! print `skipped: ...`. Every packet stays on that namespace's `lo`.

use std::fs;
use std::net::SocketAddrV4;
use std::time::Duration;

use step_01_socket::{
    ChecksumStatus, MAX_PACKET, RawSocket, SeqNumber, TcpFlags, parse_received,
};
use step_02_bind_connect::{
    CLIENT, REQUEST, SERVER, data_segment, open_connected, send,
};
use testkit::{in_private_network, with_ipv4_header};

/// A raw socket bound to `me`, connected to `peer`, whose reads give up after
/// 200 ms of quiet.
fn endpoint(me: SocketAddrV4, peer: SocketAddrV4) -> RawSocket {
    let socket = open_connected(me, peer).expect("socket, bind, connect");
    socket
        .set_recv_timeout(Duration::from_millis(200))
        .expect("SO_RCVTIMEO");
    socket
}

/// Every packet `socket` reads until it stays quiet.
fn drain(socket: &RawSocket) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; MAX_PACKET];
    let mut packets = Vec::new();
    while let Some(len) = socket.try_recv(&mut buf).expect("recv") {
        packets.push(buf[..len].to_vec());
    }
    packets
}

/// TcpInCsumErrors of the calling thread's network namespace. (`/proc/net` is
/// the process's namespace; `/proc/thread-self/net` is this thread's.)
fn tcp_in_csum_errors() -> u64 {
    let snmp = fs::read_to_string("/proc/thread-self/net/snmp").expect("snmp");
    let mut tcp = snmp.lines().filter(|line| line.starts_with("Tcp:"));
    let (names, values) = (tcp.next().expect("names"), tcp.next().expect("values"));
    let column = names
        .split_whitespace()
        .position(|name| name == "InCsumErrors")
        .expect("an InCsumErrors column");
    values
        .split_whitespace()
        .nth(column)
        .expect("a value")
        .parse()
        .expect("a number")
}

/// The summary lines of the well-formed packets among `packets`.
fn summaries(packets: &[Vec<u8>]) -> Vec<String> {
    packets
        .iter()
        .map(|bytes| parse_received(bytes).expect("well-formed").summary())
        .collect()
}

#[test]
fn a_good_segment_draws_the_kernels_rst() {
    let test = "a_good_segment_draws_the_kernels_rst";
    let Some((before, after, server, client)) = in_private_network(test, || {
        let server = endpoint(SERVER, CLIENT);
        let client = endpoint(CLIENT, SERVER);
        let before = tcp_in_csum_errors();
        let request =
            data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST);
        send(&client, &request).expect("write");
        (before, tcp_in_csum_errors(), drain(&server), drain(&client))
    }) else {
        return;
    };
    assert_eq!(after, before, "a good segment is no checksum error");
    assert_eq!(
        summaries(&server),
        [
            "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13 ack 1 win 65535 len 12"
        ]
    );
    assert_eq!(
        summaries(&client),
        ["TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1 win 0 len 0"]
    );
}

#[test]
fn a_wrong_checksum_reaches_raw_sockets_but_draws_no_rst() {
    let test = "a_wrong_checksum_reaches_raw_sockets_but_draws_no_rst";
    let Some((before, after, server, client)) = in_private_network(test, || {
        let server = endpoint(SERVER, CLIENT);
        let client = endpoint(CLIENT, SERVER);
        let before = tcp_in_csum_errors();
        let mut request =
            data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST);
        request[16] ^= 0xff; // the checksum's first byte
        send(&client, &request).expect("write");
        let server = drain(&server);
        (before, tcp_in_csum_errors(), server, drain(&client))
    }) else {
        return;
    };
    // The raw socket reads it as it was sent, checksum and all.
    assert_eq!(server.len(), 1, "the server's raw socket reads the segment");
    let packet = parse_received(&server[0]).expect("well-formed");
    assert!(
        matches!(packet.checksum_status(), ChecksumStatus::Wrong { .. }),
        "{:?}",
        packet.checksum_status()
    );
    // The kernel's TCP dropped it without an answer, and counted it.
    assert!(
        client.is_empty(),
        "no RST comes back: {:?}",
        summaries(&client)
    );
    assert_eq!(after, before + 1, "TcpInCsumErrors rises by one");
}

#[test]
fn a_written_ipv4_header_is_sent_as_tcp_bytes() {
    let test = "a_written_ipv4_header_is_sent_as_tcp_bytes";
    let Some(server) = in_private_network(test, || {
        let server = endpoint(SERVER, CLIENT);
        let client = endpoint(CLIENT, SERVER);
        // The mistake: a whole IPv4 packet written to a socket without
        // IP_HDRINCL. The kernel puts its own header in front of all of it.
        let segment =
            data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST);
        let packet = with_ipv4_header(*CLIENT.ip(), *SERVER.ip(), 1, &segment);
        send(&client, &packet).expect("write");
        drain(&server)
    }) else {
        return;
    };
    assert_eq!(server.len(), 1, "the server reads one packet");
    let read = parse_received(&server[0]).expect("well-formed");
    // Two IPv4 headers: the kernel's, then ours where TCP should start. Its
    // first bytes, 45 00, now read as the source port 0x4500 = 17664.
    assert_eq!(read.ip.total_len(), 20 + 20 + 32);
    assert_eq!(read.tcp.src_port(), 0x4500);
    assert_eq!(read.tcp.src_port(), 17664);
    assert_eq!(&server[0][20..22], &[0x45, 0x00]);
    assert!(!read.tcp.flags().contains(TcpFlags::PSH | TcpFlags::ACK));
}

#[test]
fn writing_the_whole_buffer_sends_all_of_it() {
    let test = "writing_the_whole_buffer_sends_all_of_it";
    let Some((exact, whole_buffer)) = in_private_network(test, || {
        let server = endpoint(SERVER, CLIENT);
        let client = endpoint(CLIENT, SERVER);
        let segment =
            data_segment(CLIENT, SERVER, SeqNumber(1), SeqNumber(1), REQUEST);
        // Our way: the segment's 32 bytes.
        send(&client, &segment).expect("write");
        let exact = drain(&server);
        // The tutorial's way: write(fd, buffer, sizeof(buffer)) with the
        // segment at the front of a 1024-byte buffer.
        let mut buffer = [0u8; 1024];
        buffer[..segment.len()].copy_from_slice(&segment);
        send(&client, &buffer).expect("write");
        (exact, drain(&server))
    }) else {
        return;
    };
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].len(), 20 + 32);
    // All 1024 bytes went out as one segment: the 992 zeros after "Hello
    // server" became payload, and the TCP length in the pseudo-header grew,
    // so the checksum no longer fits.
    assert_eq!(whole_buffer.len(), 1);
    let packet = parse_received(&whole_buffer[0]).expect("well-formed");
    assert_eq!(packet.ip.total_len(), 20 + 1024);
    assert_eq!(packet.tcp.payload().len(), 1004);
    assert!(packet.tcp.payload().starts_with(b"Hello server\0\0\0"));
    assert!(matches!(
        packet.checksum_status(),
        ChecksumStatus::Wrong { .. }
    ));
}
