//! Hostile input on the wire: malformed segments injected into a running echo
//! server, in the private namespace the test runs in (as an ordinary user as
//! well as root). The server must go on, count each one by its reason, and
//! still answer a valid request whose IPv4 header carries options.
//!
//! The packets are written whole, IPv4 header included, by an `IPPROTO_RAW`
//! socket the test opens there. The kernel delivers each one to every raw TCP
//! socket before its own TCP drops the bad ones.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use common::{command, ignored};
use nix::sys::signal::Signal;
use step_01_socket::{
    Family, MAX_PACKET, RawSocket, SeqNumber, annotate_packet, parse_received,
};
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER, bind, connect};
use testkit::{
    Injector, Running, in_private_network, ipv4_with_options, with_ipv4_header,
};

/// The request the workbook's client sends first: 127.0.0.2:50001 >
/// 127.0.0.1:50000 [P.] seq 1:13 ack 1 "Hello server", checksum right.
fn request() -> Vec<u8> {
    step_02_bind_connect::data_segment(
        CLIENT,
        SERVER,
        SeqNumber(1),
        SeqNumber(1),
        REQUEST,
    )
}

/// `segment` behind a plain 20-byte IPv4 header, client to server.
fn packet(segment: &[u8]) -> Vec<u8> {
    with_ipv4_header(*CLIENT.ip(), *SERVER.ip(), 0x1234, segment)
}

/// The four malformed packets, each with the reason the server must count it
/// under, then the valid request behind IPv4 options.
fn hostile_packets() -> Vec<(&'static str, Vec<u8>)> {
    let request = request();
    // The TCP header cut after 10 of its 20 bytes: the IPv4 total length
    // says 30, and that is all there is.
    let truncated = packet(&request[..10]);
    // Data offset 4 words: a TCP header shorter than its 20 fixed bytes.
    let mut short_offset = request.clone();
    short_offset[12] = 0x40;
    // Data offset 15 words (60 bytes) in a 32-byte segment.
    let mut long_offset = request.clone();
    long_offset[12] = 0xf0;
    // The checksum's last bit flipped: the bytes of a real request, damaged.
    let mut damaged = request.clone();
    damaged[17] ^= 0x01;
    // Four bytes of IPv4 options (NOP, NOP, NOP, end of list): IHL 6, so the
    // TCP header starts at byte 24, not 20.
    let options = [0x01, 0x01, 0x01, 0x00];
    let with_options =
        ipv4_with_options(*CLIENT.ip(), *SERVER.ip(), 0x1235, &options, &request);
    vec![
        ("malformed:truncated", truncated),
        ("malformed:bad-data-offset", packet(&short_offset)),
        ("malformed:data-offset-past-end", packet(&long_offset)),
        ("bad-checksum", packet(&damaged)),
        ("answered", with_options),
    ]
}

#[test]
fn the_packets_are_what_they_claim_to_be() {
    // Checked here, without any privilege: the server's reasons come from
    // the same parser.
    let reasons: Vec<String> = hostile_packets()
        .iter()
        .map(|(_, bytes)| match parse_received(bytes) {
            Ok(packet) if packet.tcp.verify_checksum(*CLIENT.ip(), *SERVER.ip()) => {
                format!("parsed, IHL {}", packet.ip.header_len() / 4)
            }
            Ok(_) => "parsed, checksum wrong".to_owned(),
            Err(error) => format!("malformed:{}", error.reason()),
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "malformed:truncated",
            "malformed:bad-data-offset",
            "malformed:data-offset-past-end",
            "parsed, checksum wrong",
            "parsed, IHL 6",
        ]
    );
}

#[test]
fn the_hostile_packets_byte_by_byte() {
    // What the server's raw socket reads for each, field by field (the
    // kernel fills in the IPv4 identification 0x1234/0x1235 as given here).
    let mut text = String::new();
    for (reason, bytes) in hostile_packets() {
        text.push_str(&format!("== counted as: {reason}\n"));
        text.push_str(&annotate_packet(&bytes));
        text.push('\n');
    }
    insta::assert_snapshot!(text);
}

/// Opens a raw TCP socket that reads what comes from the server's address to
/// the client's, injects `packets`, and returns every segment that socket
/// reads until the first one with data (the server's reply), or until `wait`
/// has passed.
fn inject_and_listen(packets: &[Vec<u8>], wait: Duration) -> Vec<Vec<u8>> {
    let listener = RawSocket::open(Family::AfInet).expect("raw TCP socket");
    bind(&listener, CLIENT).expect("bind");
    connect(&listener, SERVER).expect("connect");
    listener
        .set_recv_timeout(Duration::from_millis(20))
        .expect("SO_RCVTIMEO");
    let injector = Injector::open().expect("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)");
    for packet in packets {
        injector.send(packet).expect("sendto");
    }
    let mut read = Vec::new();
    let mut buf = vec![0; MAX_PACKET];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let Ok(len) = listener.recv(&mut buf) else {
            continue; // EAGAIN after SO_RCVTIMEO: read again
        };
        read.push(buf[..len].to_vec());
        let packet = parse_received(&buf[..len]);
        if packet.is_ok_and(|p| !p.tcp.payload().is_empty()) {
            break;
        }
    }
    read
}

#[test]
fn malformed_segments_are_counted_by_reason_and_options_are_no_obstacle() {
    let test =
        "malformed_segments_are_counted_by_reason_and_options_are_no_obstacle";
    let Some((server, read)) = in_private_network(test, || {
        let mut server = Running::spawn(command(&[
            "server",
            "127.0.0.1",
            "--peer",
            "127.0.0.2",
            "-v",
        ]));
        assert!(server.wait_for("until Ctrl+C"), "the server did not start");
        let packets: Vec<Vec<u8>> =
            hostile_packets().into_iter().map(|(_, p)| p).collect();
        let read = inject_and_listen(&packets, Duration::from_secs(5));
        // The server read the four bad packets before the good one, in order:
        // once its reply is out, all of them were counted.
        assert!(server.wait_for("server:   wrote"), "no reply written");
        server.signal(Signal::SIGINT);
        (server.finish(), read)
    }) else {
        return;
    };
    assert_eq!(server.code(), 0, "{server:?}");

    // What came back to 127.0.0.2: the kernel's RST to the one well-formed
    // request (its TCP has no socket on port 50000), nothing for the four
    // bad packets (its TCP drops them without a word), then the server's
    // reply. The request behind IPv4 options was answered like a plain one.
    let lines: Vec<String> = read
        .iter()
        .map(|bytes| match parse_received(bytes) {
            Ok(packet) => packet.summary(),
            Err(error) => format!("malformed: {error}"),
        })
        .collect();
    assert_eq!(
        lines,
        [
            "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [R] seq 1 win 0 len 0",
            "TCP 127.0.0.1:50000 > 127.0.0.2:50001 [P.] seq 1:13 ack 13 win 65535 len 12",
        ],
        "{}",
        server.stdout
    );
    let reply = parse_received(&read[1]).expect("the reply parses");
    assert_eq!(reply.tcp.payload(), REPLY);
    assert!(reply.tcp.verify_checksum(*SERVER.ip(), *CLIENT.ip()));
    assert!(
        server
            .stdout
            .contains("server: received 1 requests, sent 1 replies"),
        "{}",
        server.stdout
    );
    // Each malformed packet counted once, under its reason.
    for (reason, _) in &hostile_packets()[..4] {
        assert_eq!(ignored(&server, "server", reason), 1, "{reason}");
    }
    // With -v each one is also named as it is read: the parser's own words
    // for the malformed ones, the summary line for the damaged one.
    let named: Vec<&str> = server
        .lines_starting("server: ignored ")
        .into_iter()
        .filter(|line| !line.contains("kernel-rst  TCP"))
        .collect();
    println!("{}", server.stdout);
    assert_eq!(named.len(), 5, "four reads and the summary: {named:?}");
    assert!(named[3].starts_with(
        "server: ignored bad-checksum  TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:13"
    ));
    // Nothing else happened to the exchange.
    assert_eq!(ignored(&server, "server", "no-payload"), 0);
    assert_eq!(ignored(&server, "server", "foreign"), 0);
}

/// Every injected packet goes from 127.0.0.2 to the server at 127.0.0.1:
/// loopback only, as everything the workbook sends.
#[test]
fn the_injected_packets_stay_on_loopback() {
    for (_, bytes) in hostile_packets() {
        let dst = Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]);
        let src = Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]);
        assert!(dst.is_loopback() && src.is_loopback(), "{src} > {dst}");
        assert_eq!(SocketAddrV4::new(dst, 50000), SERVER);
    }
}
