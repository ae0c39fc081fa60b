//! Snapshots of the bytes step 4 writes and reads, field by field.
//!
//! Everything is deterministic: both sides start their sequence numbers at 1,
//! the ports are the workbook's, and where the kernel would choose the IPv4
//! identification of a packet we read, these tests fix it at 1.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use step_01_socket::checksum::{PROTO_TCP, fold, pseudo_header};
use step_01_socket::{
    SeqNumber, TcpFlags, TcpPacket, TcpRepr, annotate_packet, annotate_segment,
    parse_received,
};
use step_02_bind_connect::{CLIENT, SERVER, classify};
use step_04_echo::{
    Client, ClientConfig, ClientEvent, Outgoing, Overdue, Server, ServerEvent,
};
use testkit::with_ipv4_header;

const MS: Duration = Duration::from_millis(1);

fn config(count: u64) -> ClientConfig {
    ClientConfig {
        count: Some(count),
        interval: 100 * MS,
        timeout: 1000 * MS,
        // One try: a reply not in within the second is lost (no resend).
        tries: 1,
    }
}

/// What a raw socket reads when `segment` goes from `src` to `dst`: the IPv4
/// header the kernel puts in front (DF, TTL 64; identification fixed at 1).
fn as_read(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
    with_ipv4_header(src, dst, 1, segment)
}

/// A segment a machine wrote, copied out of it: its bytes and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Written {
    segment: Vec<u8>,
    line: String,
}

impl From<Outgoing<'_>> for Written {
    fn from(outgoing: Outgoing<'_>) -> Written {
        Written {
            segment: outgoing.segment.to_vec(),
            line: outgoing.to_string(),
        }
    }
}

/// The client's first request, as it writes it.
fn first_request() -> Written {
    let t0 = Instant::now();
    let mut client = Client::new(CLIENT, SERVER, config(1), t0);
    let request = client.poll_send(t0);
    request.expect("the first request is due at once").into()
}

/// The server's reply to the first request, as it writes it.
fn first_reply() -> Written {
    let mut server = Server::new(SERVER, CLIENT);
    let request = as_read(*CLIENT.ip(), *SERVER.ip(), &first_request().segment);
    match server.on_packet(&request) {
        ServerEvent::Request { reply, .. } => reply.into(),
        other => panic!("the request was not answered: {other:?}"),
    }
}

fn written(src: SocketAddrV4, dst: SocketAddrV4, outgoing: &Written) -> String {
    let dump = annotate_segment(*src.ip(), *dst.ip(), &outgoing.segment)
        .expect("our own segment parses");
    format!("{}\n{dump}", outgoing.line)
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
/// 50000. The kernel's RSTs carry a full checksum; this one is given only the
/// pseudo-header's sum, as the kernel's SYN on `lo` carries, to show that the
/// client sorts a RST out by its flags and addresses before any checksum.
#[test]
fn kernel_rst_as_the_client_reads_it() {
    let rst = TcpRepr {
        src_port: SERVER.port(),
        dst_port: CLIENT.port(),
        seq: SeqNumber(13),
        ack_number: None,
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
    let ClientEvent::Ignored(ignoring) = event else {
        panic!("a RST taken for a reply: {event:?}");
    };
    let text = format!(
        "{}\nignored by the client: {}\n{}",
        ignoring
            .packet
            .map(|packet| packet.summary())
            .unwrap_or_default(),
        ignoring.reason,
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
            ack_number: None,
            flags: TcpFlags::RST,
            window: 0,
            payload: b"",
        };
        to_client(&rst.to_bytes(*SERVER.ip(), *CLIENT.ip()))
    };

    for (n, at) in [(1, 0), (2, 100), (3, 200)] {
        let now = t0 + at * MS;
        let request = Written::from(client.poll_send(now).expect("due"));
        let _ = writeln!(log, "client wrote   {}", request.line);
        let request_read = to_server(&request.segment);
        let event = server.on_packet(&request_read);
        let ServerEvent::Request { reply, .. } = event else {
            panic!("request {n} not answered");
        };
        let reply = Written::from(reply);
        let _ = writeln!(log, "server wrote   {}", reply.line);
        // The kernel resets the request (a RST's seq is the ack it answers);
        // the client counts that and waits on.
        let ack = TcpPacket::new_checked(&request.segment[..])
            .unwrap()
            .ack_number();
        let rst = kernel_rst(ack.0);
        let event = client.on_packet(&rst, now);
        assert!(matches!(event, ClientEvent::Ignored(_)), "{event:?}");
        if n == 3 {
            let _ = writeln!(log, "(reply 3 lost on the way)");
            continue;
        }
        for copy in 0..if n == 2 { 2 } else { 1 } {
            let bytes = to_client(&reply.segment);
            let event = client.on_packet(&bytes, now);
            let line = match event {
                ClientEvent::Reply { number, reply, .. } => {
                    format!("reply to request {number}: {}", reply.summary())
                }
                ClientEvent::Ignored(ignoring) => {
                    format!("ignored: {}", ignoring.reason)
                }
            };
            let what = if copy == 0 {
                "client read"
            } else {
                "again      "
            };
            let _ = writeln!(log, "{what}    {line}");
        }
    }
    while let Some(lost) = client.on_timeout(t0 + 1200 * MS) {
        let _ = writeln!(log, "client         {lost}");
    }
    let _ = writeln!(log, "client: {}", client.summary());
    let _ = writeln!(log, "client: ignored {}", client.ignored());
    let _ = writeln!(log, "server: {}", server.summary());
    let _ = writeln!(log, "server: ignored {}", server.ignored());
    assert!(client.is_done());
    insta::assert_snapshot!(log);
}

/// Both machines when segments go missing, with a fake clock: a lost reply, a
/// lost request, a slow reply, and a request none of whose tries is answered.
/// Each resend carries the same bytes; the server answers a resend it has
/// answered before with the same reply; no reply counts twice.
#[test]
fn resend_transcript() {
    let t0 = Instant::now();
    // Ping-pong, three tries each, the waits 100, 200 and 400 ms.
    let config = ClientConfig {
        count: Some(4),
        interval: Duration::ZERO,
        timeout: 100 * MS,
        tries: 3,
    };
    let mut client = Client::new(CLIENT, SERVER, config, t0);
    let mut server = Server::new(SERVER, CLIENT);
    let mut log = String::new();
    let to_server = |segment: &[u8]| as_read(*CLIENT.ip(), *SERVER.ip(), segment);
    let to_client = |segment: &[u8]| as_read(*SERVER.ip(), *CLIENT.ip(), segment);

    // What the server does with a request that arrives: the reply it writes.
    let mut serve = |log: &mut String, at: u32, request: &Written| {
        let bytes = to_server(&request.segment);
        let reply = match server.on_packet(&bytes) {
            ServerEvent::Request { reply, .. } => {
                let _ = writeln!(log, "{at:>5}ms server wrote   {reply}");
                reply
            }
            ServerEvent::Resent { reply, .. } => {
                let line = format!("(again, request {} resent)", reply.number);
                let _ = writeln!(log, "{at:>5}ms server wrote   {reply}  {line}");
                reply
            }
            other => panic!("not answered: {other:?}"),
        };
        reply.segment.to_vec()
    };
    let read = |log: &mut String, at: u32, client: &mut Client, reply: &[u8]| {
        let line = match client.on_packet(&to_client(reply), t0 + at * MS) {
            ClientEvent::Reply { number, .. } => {
                format!("reply to request {number}")
            }
            ClientEvent::Ignored(ignoring) => {
                format!("ignored: {}", ignoring.reason)
            }
        };
        let _ = writeln!(log, "{at:>5}ms client read    {line}");
    };
    let tick = |log: &mut String, at: u32, client: &mut Client| -> Vec<Written> {
        let mut written = Vec::new();
        while let Some(overdue) = client.on_timeout(t0 + at * MS) {
            let _ = writeln!(log, "{at:>5}ms client         {overdue}");
            if let Overdue::Resend(resend) = overdue {
                written.push(resend.request.into());
            }
        }
        if let Some(request) = client.poll_send(t0 + at * MS) {
            let _ = writeln!(log, "{at:>5}ms client wrote   {request}");
            written.push(request.into());
        }
        written
    };

    // Request 1: its reply is lost; the resend gets the same reply again.
    let first = tick(&mut log, 0, &mut client).remove(0);
    serve(&mut log, 0, &first);
    let _ = writeln!(log, "        (the reply is lost)");
    let again = tick(&mut log, 100, &mut client).remove(0);
    assert_eq!(again, first, "a resend is the same bytes");
    let reply = serve(&mut log, 100, &again);
    read(&mut log, 100, &mut client, &reply);

    // Request 2: the request itself is lost; the server sees only the resend.
    let second = tick(&mut log, 100, &mut client).remove(0);
    let _ = writeln!(log, "        (the request is lost)");
    let again = tick(&mut log, 200, &mut client).remove(0);
    assert_eq!(again, second);
    let reply = serve(&mut log, 200, &again);
    read(&mut log, 200, &mut client, &reply);

    // Request 3: the reply is only slow; the resend earns a second one.
    let third = tick(&mut log, 200, &mut client).remove(0);
    let slow = serve(&mut log, 200, &third);
    let _ = writeln!(log, "        (the reply is slow)");
    let again = tick(&mut log, 300, &mut client).remove(0);
    let reply = serve(&mut log, 300, &again);
    assert_eq!(reply, slow, "the same reply, byte for byte");
    read(&mut log, 310, &mut client, &slow);
    read(&mut log, 320, &mut client, &reply);

    // Request 4: no try is answered (the server is gone); a reply to it
    // that turns up afterwards is late.
    let fourth = tick(&mut log, 320, &mut client).remove(0);
    let _ = writeln!(log, "        (the server is gone)");
    for at in [420, 620, 1020] {
        tick(&mut log, at, &mut client);
    }
    let ghost = step_02_bind_connect::data_segment(
        SERVER,
        CLIENT,
        SeqNumber(37),
        TcpPacket::new_checked(&fourth.segment[..])
            .unwrap()
            .seq_number()
            + 12,
        step_02_bind_connect::REPLY,
    );
    read(&mut log, 1100, &mut client, &ghost);

    assert!(client.is_done());
    assert_eq!(
        (client.answered(), client.lost(), client.resent()),
        (3, 1, 5)
    );
    let _ = writeln!(log, "client: {}", client.summary());
    let _ = writeln!(log, "client: ignored {}", client.ignored());
    let _ = writeln!(log, "server: {}", server.summary());
    insta::assert_snapshot!(log);
}
