//! Snapshots of the bytes step 4 writes and reads, field by field.
//!
//! Everything is deterministic: both sides start their sequence numbers at 1,
//! the ports are the workbook's, and where the kernel would choose the IPv4
//! identification of a packet we read, these tests fix it at 1.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use step_01_socket::checksum::{PROTO_TCP, fold, pseudo_header};
use step_01_socket::testing::with_ipv4_header;
use step_01_socket::{
    SeqNumber, TcpFlags, TcpPacket, TcpRepr, annotate_packet, annotate_segment,
    parse_received,
};
use step_02_bind_connect::{CLIENT, SERVER, classify};
use step_04_echo::{
    Client, ClientConfig, ClientEvent, Outgoing, Server, ServerOutcome,
};

const MS: Duration = Duration::from_millis(1);

fn config(count: u64) -> ClientConfig {
    ClientConfig {
        count: Some(count),
        interval: 100 * MS,
        timeout: 1000 * MS,
    }
}

/// What a raw socket reads when `segment` goes from `src` to `dst`: the IPv4
/// header the kernel puts in front (DF, TTL 64; identification fixed at 1).
fn as_read(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
    with_ipv4_header(src, dst, 1, segment)
}

/// The client's first request, as it writes it.
fn first_request() -> Outgoing {
    let t0 = Instant::now();
    let mut client = Client::new(CLIENT, SERVER, config(1), t0);
    client
        .poll_send(t0)
        .expect("the first request is due at once")
}

/// The server's reply to the first request, as it writes it.
fn first_reply() -> Outgoing {
    let mut server = Server::new(SERVER, CLIENT);
    let request = first_request();
    match server.on_packet(&as_read(*CLIENT.ip(), *SERVER.ip(), &request.segment)) {
        ServerOutcome::Request { reply, .. } => reply,
        other => panic!("the request was not answered: {other:?}"),
    }
}

fn written(src: SocketAddrV4, dst: SocketAddrV4, outgoing: &Outgoing) -> String {
    let dump = annotate_segment(*src.ip(), *dst.ip(), &outgoing.segment)
        .expect("our own segment parses");
    format!("{}\n{dump}", outgoing.summary)
}

#[test]
fn request_segment() {
    insta::assert_snapshot!(written(CLIENT, SERVER, &first_request()));
}

#[test]
fn reply_segment() {
    insta::assert_snapshot!(written(SERVER, CLIENT, &first_reply()));
}

#[test]
fn request_as_the_server_reads_it() {
    let bytes = as_read(*CLIENT.ip(), *SERVER.ip(), &first_request().segment);
    let packet = parse_received(&bytes).expect("well formed");
    let text = format!(
        "{}\nverdict for the server: {}\n{}",
        packet.summary(),
        classify(&packet, SERVER, CLIENT),
        annotate_packet(&bytes)
    );
    insta::assert_snapshot!(text);
}

/// The kernel's answer to the request: it owns 127.0.0.1 but no socket on port
/// 50000. On `lo` its checksum field holds only the pseudo-header's sum.
#[test]
fn kernel_rst_as_the_client_reads_it() {
    let rst = TcpRepr {
        src_port: SERVER.port(),
        dst_port: CLIENT.port(),
        seq: SeqNumber(13),
        ack: SeqNumber(0),
        flags: TcpFlags::RST,
        window: 0,
        payload: b"",
    };
    let mut segment = rst.to_bytes(*SERVER.ip(), *CLIENT.ip());
    let partial = fold(pseudo_header(*SERVER.ip(), *CLIENT.ip(), PROTO_TCP, 20));
    TcpPacket::new_unchecked(&mut segment[..]).set_checksum(partial);
    let bytes = as_read(*SERVER.ip(), *CLIENT.ip(), &segment);

    let mut client = Client::new(CLIENT, SERVER, config(1), Instant::now());
    let event = client.on_packet(&bytes, Instant::now());
    let ClientEvent::Ignored { reason, summary } = event else {
        panic!("a RST taken for a reply: {event:?}");
    };
    let text = format!(
        "{}\nignored by the client: {reason}\n{}",
        summary.unwrap_or_default(),
        annotate_packet(&bytes)
    );
    insta::assert_snapshot!(text);
}

/// Both machines against each other, with the kernel's RSTs, a duplicate and a
/// lost reply: what each side makes of each segment.
#[test]
fn exchange_transcript() {
    let t0 = Instant::now();
    let mut client = Client::new(CLIENT, SERVER, config(3), t0);
    let mut server = Server::new(SERVER, CLIENT);
    let mut log = String::new();
    let to_server = |segment: &[u8]| as_read(*CLIENT.ip(), *SERVER.ip(), segment);
    let to_client = |segment: &[u8]| as_read(*SERVER.ip(), *CLIENT.ip(), segment);
    let kernel_rst = |seq: u32| {
        let rst = TcpRepr {
            src_port: SERVER.port(),
            dst_port: CLIENT.port(),
            seq: SeqNumber(seq),
            ack: SeqNumber(0),
            flags: TcpFlags::RST,
            window: 0,
            payload: b"",
        };
        to_client(&rst.to_bytes(*SERVER.ip(), *CLIENT.ip()))
    };

    for (n, at) in [(1, 0), (2, 100), (3, 200)] {
        let now = t0 + at * MS;
        let request = client.poll_send(now).expect("due");
        let _ = writeln!(log, "client wrote   {}", request.summary);
        let outcome = server.on_packet(&to_server(&request.segment));
        let ServerOutcome::Request { reply, .. } = outcome else {
            panic!("request {n} not answered");
        };
        let _ = writeln!(log, "server wrote   {}", reply.summary);
        // The kernel resets the request (a RST's seq is the ack it answers);
        // the client counts that and waits on.
        let ack = TcpPacket::new_checked(&request.segment[..])
            .unwrap()
            .ack_number();
        let event = client.on_packet(&kernel_rst(ack.0), now);
        assert!(matches!(event, ClientEvent::Ignored { .. }), "{event:?}");
        if n == 3 {
            let _ = writeln!(log, "(reply 3 lost on the way)");
            continue;
        }
        for copy in 0..if n == 2 { 2 } else { 1 } {
            let event = client.on_packet(&to_client(&reply.segment), now);
            let line = match event {
                ClientEvent::Reply {
                    number, summary, ..
                } => format!("reply to request {number}: {summary}"),
                ClientEvent::Ignored { reason, .. } => format!("ignored: {reason}"),
            };
            let what = if copy == 0 {
                "client read"
            } else {
                "again      "
            };
            let _ = writeln!(log, "{what}    {line}");
        }
    }
    for lost in client.on_timeout(t0 + 1200 * MS) {
        let _ = writeln!(log, "client         {lost}");
    }
    let _ = writeln!(log, "client: {}", client.summary());
    let _ = writeln!(log, "client: ignored {}", client.ignored());
    let _ = writeln!(log, "server: {}", server.summary());
    let _ = writeln!(log, "server: ignored {}", server.ignored());
    assert!(client.is_done());
    insta::assert_snapshot!(log);
}
