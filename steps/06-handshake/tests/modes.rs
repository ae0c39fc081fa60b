//! `client` and `server` against the kernel's TCP, each test in a private
//! network namespace of its own (it re-runs itself there, as an ordinary user
//! too), where the program installs its nft rule and meets a kernel socket the
//! test opens: a page of 120 KB fetched over HTTP/1.0, connections one after
//! another, a SYN-ACK or an ACK lost on the way (an nft rule drops it), no
//! answer ever, and a RST in answer to our SYN.
//!
//! Needs `nft` (Debian package `nftables`); without it the tests say they were
//! skipped and why.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{Ran, command, nft, nft_installed, run, start, transitions};
use testkit::in_private_network;

/// The HTTP request the client sends.
const GET: &str = "GET / HTTP/1.0\\r\\n\\r\\n";

/// A page of `len` bytes that no two offsets confuse (a linear congruential
/// sequence), behind an HTTP/1.0 header.
fn page(len: usize) -> Vec<u8> {
    let mut page = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\n\r\n"
    )
    .into_bytes();
    let mut x: u32 = 0x5eed;
    page.extend((0..len).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 16) as u8
    }));
    page
}

/// The kernel's HTTP/1.0 server at 127.0.0.1:8000, for one connection: reads
/// the request up to its empty line, writes `page`, closes. Returns the
/// request.
fn http_server(page: Vec<u8>) -> JoinHandle<Vec<u8>> {
    let listener = TcpListener::bind("127.0.0.1:8000").expect("bind 127.0.0.1:8000");
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut buf).expect("read the request");
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        stream.write_all(&page).expect("write the page");
        request
    })
}

/// Our client fetching `/` from the kernel's server at 127.0.0.1:8000.
fn fetch(extra: &[&str]) -> Ran {
    let mut args = vec!["client", "--peer-port", "8000", "--send", GET];
    args.extend_from_slice(extra);
    run(command(&args))
}

/// The payload lengths of the segments our client read from the server.
fn data_lengths(text: &str) -> Vec<usize> {
    text.lines()
        .filter(|line| line.starts_with("client:   read  127.0.0.1:8000 > "))
        .filter_map(|line| line.rsplit_once(" len ").map(|(_, len)| len))
        .filter_map(|len| len.split(' ').next()?.parse().ok())
        .filter(|len| *len > 0)
        .collect()
}

/// How many lines of `text` contain `what`.
fn count(text: &str, what: &str) -> usize {
    text.lines().filter(|line| line.contains(what)).count()
}

// ANCHOR: http
#[test]
fn the_client_fetches_a_120_kb_page_from_a_kernel_http_server() {
    let test = "the_client_fetches_a_120_kb_page_from_a_kernel_http_server";
    if !nft_installed(test) {
        return;
    }
    let Some((ran, request, sent)) = in_private_network(test, || {
        let sent = page(120 * 1024);
        let server = http_server(sent.clone());
        let ran = fetch(&[]);
        (ran, server.join().expect("the server thread"), sent)
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
    // Every byte, in order: compared whole, reported by its first difference.
    let first_difference = ran.stdout.iter().zip(&sent).position(|(a, b)| a != b);
    assert_eq!(
        (ran.stdout.len(), first_difference),
        (sent.len(), None),
        "standard output is not the page"
    );
    // Several segments, none beyond our window. On lo the kernel sends
    // several MSS-sized segments as one packet (GSO: lo never splits them),
    // so each length is a multiple of the MSS we announced, 1460, but the
    // last.
    let lengths = data_lengths(&ran.stderr);
    assert!(lengths.len() >= 5, "{lengths:?}");
    let (last, rest) = lengths.split_last().expect("data came");
    assert!(rest.iter().all(|len| len % 1460 == 0), "{lengths:?}");
    assert!(lengths.iter().all(|len| *len <= 65535), "{lengths:?}");
    assert_eq!(rest.iter().sum::<usize>() + last, sent.len());
    // What came was acknowledged; nothing lost, nothing sent again.
    let acks = count(
        &ran.stderr,
        "client:   wrote 127.0.0.2:50001 > 127.0.0.1:8000 [.] seq 19 ack ",
    );
    assert!(acks >= 2, "{}", ran.stderr);
    assert!(!ran.stderr.contains("sending it again"), "{}", ran.stderr);
    assert!(ran.stderr.contains("witness: "), "{}", ran.stderr);
    assert!(ran.stderr.contains("RSTs among them: 0"), "{}", ran.stderr);
    // The server closed first: we went through CLOSE-WAIT and LAST-ACK.
    assert_eq!(
        transitions(&ran.stderr, "client"),
        [
            "CLOSED -> SYN-SENT",
            "SYN-SENT -> ESTABLISHED",
            "ESTABLISHED -> CLOSE-WAIT",
            "CLOSE-WAIT -> LAST-ACK",
            "LAST-ACK -> CLOSED",
        ]
    );
}
// ANCHOR_END: http

/// The kernel's client: connects to 127.0.0.1:50000, writes `Hello server`,
/// reads to the end. Returns what it read.
fn kernel_client() -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(
        &"127.0.0.1:50000".parse().expect("an address"),
        Duration::from_secs(10),
    )?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"Hello server")?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    let _ = stream.shutdown(Shutdown::Both);
    Ok(reply)
}

// ANCHOR: server
#[test]
fn the_server_takes_kernel_clients_one_after_another() {
    let test = "the_server_takes_kernel_clients_one_after_another";
    if !nft_installed(test) {
        return;
    }
    let Some((ran, replies)) = in_private_network(test, || {
        let mut server = start(command(&["server", "--count", "2"]));
        assert!(
            server.wait_for("CLOSED -> LISTEN"),
            "the server did not start"
        );
        let replies: Vec<_> = (0..2)
            .map(|_| kernel_client().expect("a connection"))
            .collect();
        (server.finish(), replies)
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert_eq!(
        replies,
        [b"Hello client".to_vec(), b"Hello client".to_vec()]
    );
    assert_eq!(
        ran.stdout, b"Hello serverHello server",
        "what the clients sent"
    );
    assert_eq!(count(&ran.stderr, "server: CLOSED -> LISTEN"), 2);
    assert_eq!(count(&ran.stderr, "server: LISTEN -> SYN-RECEIVED"), 2);
    assert!(ran.stderr.contains("RSTs among them: 0"), "{}", ran.stderr);
}
// ANCHOR_END: server

// ANCHOR: lost
/// An nft rule that drops the first segment matching `what` on its way out.
fn drop_the_first(what: &str) -> String {
    format!(
        "table ip loss {{
            chain output {{
                type filter hook output priority 0;
                {what} numgen inc mod 1000000 == 0 drop
            }}
        }}"
    )
}

#[test]
fn a_lost_syn_ack_from_the_kernel_is_recovered_by_our_resent_syn() {
    let test = "a_lost_syn_ack_from_the_kernel_is_recovered_by_our_resent_syn";
    if !nft_installed(test) {
        return;
    }
    let Some(ran) = in_private_network(test, || {
        nft(&drop_the_first(
            "ip saddr 127.0.0.1 tcp sport 8000 tcp flags & (syn | ack) == syn | ack",
        ));
        let server = http_server(page(1000));
        let ran = fetch(&["--rto", "200ms"]);
        server.join().expect("the server thread");
        ran
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, page(1000));
    assert!(
        ran.stderr.contains(
            "client: no ACK for our SYN within 200ms: sending it again, try 2 of 6"
        ),
        "{}",
        ran.stderr
    );
    assert_eq!(
        count(&ran.stderr, "[S.] seq 0 ack 1"),
        1,
        "one SYN-ACK came"
    );
}

#[test]
fn a_lost_ack_of_ours_is_covered_by_the_data_that_follows() {
    let test = "a_lost_ack_of_ours_is_covered_by_the_data_that_follows";
    if !nft_installed(test) {
        return;
    }
    let Some(ran) = in_private_network(test, || {
        // The handshake's third segment: the first that is a bare ACK.
        nft(&drop_the_first(
            "ip saddr 127.0.0.2 tcp sport 50001 tcp flags == ack",
        ));
        let server = http_server(page(1000));
        let ran = fetch(&["--rto", "200ms"]);
        server.join().expect("the server thread");
        ran
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, page(1000));
    // The kernel refused it on the way out; the request, which carries the
    // same ACK, completed the kernel's handshake.
    assert!(
        ran.stderr.contains(
            "client:   NOT SENT 127.0.0.2:50001 > 127.0.0.1:8000 [.] seq 1 ack 1 win 65535 len 0"
        ),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("sending it again"), "{}", ran.stderr);
}

#[test]
fn a_lost_syn_ack_of_our_server_goes_again_on_its_timer() {
    let test = "a_lost_syn_ack_of_our_server_goes_again_on_its_timer";
    if !nft_installed(test) {
        return;
    }
    let Some((ran, reply)) = in_private_network(test, || {
        nft(&drop_the_first(
            "ip saddr 127.0.0.1 tcp sport 50000 tcp flags & (syn | ack) == syn | ack",
        ));
        let mut server =
            start(command(&["server", "--count", "1", "--rto", "200ms"]));
        assert!(
            server.wait_for("CLOSED -> LISTEN"),
            "the server did not start"
        );
        let reply = kernel_client().expect("a connection");
        (server.finish(), reply)
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert_eq!(reply, b"Hello client");
    assert!(ran.stderr.contains("server:   NOT SENT "), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "server: no ACK for our SYN-ACK within 200ms: sending it again, try 2 of 6"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn when_no_syn_ack_ever_comes_the_client_gives_up_within_its_bound() {
    let test = "when_no_syn_ack_ever_comes_the_client_gives_up_within_its_bound";
    if !nft_installed(test) {
        return;
    }
    let Some(ran) = in_private_network(test, || {
        nft("table ip loss {
            chain output {
                type filter hook output priority 0;
                ip saddr 127.0.0.1 tcp sport 8000 tcp flags & (syn | ack) == syn | ack drop
            }
        }");
        let _listener = TcpListener::bind("127.0.0.1:8000").expect("bind");
        fetch(&["--rto", "100ms", "--tries", "3"])
    }) else {
        return;
    };
    assert_eq!(ran.code(), 1, "{}", ran.stderr);
    assert_eq!(count(&ran.stderr, "client:   wrote "), 3, "three SYNs");
    assert!(
        ran.stderr.contains(
            "client: SYN-SENT -> CLOSED: no ACK for our SYN after 3 tries over 700ms: giving up"
        ),
        "{}",
        ran.stderr
    );
    // 100 + 200 + 400 ms, and the start-up: well within a few seconds.
    assert!(ran.elapsed < Duration::from_secs(5), "{:?}", ran.elapsed);
    assert!(ran.stdout.is_empty());
}
// ANCHOR_END: lost

// ANCHOR: refused
#[test]
fn a_rst_in_answer_to_our_syn_ends_the_client_at_once() {
    let test = "a_rst_in_answer_to_our_syn_ends_the_client_at_once";
    if !nft_installed(test) {
        return;
    }
    // Nothing listens on port 8000: the kernel answers our SYN with a RST
    // (from 127.0.0.1:8000, not our port: the rule does not touch it).
    let Some(ran) = in_private_network(test, || fetch(&[])) else {
        return;
    };
    assert_eq!(ran.code(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "client:   read  127.0.0.1:8000 > 127.0.0.2:50001 [R.] seq 0 ack 1 win 0 len 0"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(
            "client: SYN-SENT -> CLOSED: the peer's RST acknowledges our SYN: connection refused"
        ),
        "{}",
        ran.stderr
    );
    // At once: no resend, no wait for the 1 s timer.
    assert!(!ran.stderr.contains("sending it again"));
    assert!(ran.stderr.contains("RSTs among them: 1"), "{}", ran.stderr);
}
// ANCHOR_END: refused
