//! Why the nft rule is needed, and why it carries a mark: without it the
//! kernel resets our connection in our name; with it, the kernel's RSTs are
//! gone but our own still pass.
//!
//! Each test runs in a private network namespace of its own (it re-runs
//! itself there, as an ordinary user too).

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddrV4, TcpListener};
use std::time::{Duration, Instant};

use common::{command, nft_installed, start};
use nix::sys::signal::Signal;
use step_01_socket::{
    Family, MAX_PACKET, RawSocket, SeqNumber, TcpFlags, parse_received,
};
use step_02_bind_connect::{CLIENT, bind, send};
use step_06_handshake::run::{Output, open_raw};
use step_06_handshake::{App, Cause, CloseWhen, Config, Event, State, Tcb};
use testkit::in_private_network;

const KERNEL: SocketAddrV4 = SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8000);

// ANCHOR: without_the_rule
/// What happened when our client connected to the kernel's listener at
/// 127.0.0.1:8000 with no nft rule: our events, the RSTs a second raw socket
/// saw going to the listener, and what `accept()` said afterwards. With
/// `bound`, a kernel TCP socket is bound to our port first (not listening).
fn connect_without_the_rule(
    bound: bool,
) -> (Vec<Event>, Vec<String>, Result<(), ErrorKind>) {
    let listener = TcpListener::bind(KERNEL).expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let _bound = bound.then(|| {
        use nix::sys::socket::{
            AddressFamily, SockFlag, SockType, SockaddrIn, socket,
        };
        use std::os::fd::AsRawFd;
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )
        .expect("a TCP socket");
        nix::sys::socket::bind(fd.as_raw_fd(), &SockaddrIn::from(CLIENT))
            .expect("bind it to our port");
        fd
    });
    let ours = open_raw("client", CLIENT, Some(KERNEL), &Output::demo(false))
        .expect("our raw socket");
    // A second raw socket reads what goes to 127.0.0.1: the kernel's
    // answers in our name, which our own socket never sees.
    let witness = RawSocket::open(Family::AfInet).expect("witness");
    bind(&witness, KERNEL).expect("bind the witness");
    witness.set_nonblocking().expect("non-blocking");

    let config = Config {
        rto: Duration::from_millis(200),
        ..Config::default()
    };
    let mut tcb = Tcb::new(config, CLIENT, SeqNumber(1000));
    let mut app = App::Client {
        peer: KERNEL,
        message: b"Hello server".to_vec(),
        close_when: CloseWhen::PeerClosed,
        received: 0,
    };
    let mut events = app.start(&mut tcb);
    let mut rsts = Vec::new();
    let mut buf = vec![0u8; MAX_PACKET];
    let deadline = Instant::now() + Duration::from_secs(3);
    while tcb.state() != State::Closed && Instant::now() < deadline {
        let now = Instant::now();
        events.extend(tcb.on_timeout(now));
        while let Some(out) = tcb.poll_transmit(now) {
            send(&ours, &out.bytes).expect("write");
        }
        while let Ok(Some(len)) = ours.try_recv(&mut buf) {
            let new = tcb.on_packet(&buf[..len], Instant::now());
            for event in &new {
                events.extend(app.react(event, &mut tcb));
            }
            events.extend(new);
        }
        while let Ok(Some(len)) = witness.try_recv(&mut buf) {
            let packet = parse_received(&buf[..len]).expect("a packet");
            if packet.tcp.flags().contains(TcpFlags::RST) {
                rsts.push(packet.summary());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let accepted = listener.accept().map(|_| ()).map_err(|e| e.kind());
    (events, rsts, accepted)
}

/// The kernel's RST in our name, and the reset it caused.
fn assert_reset_in_our_name(
    events: &[Event],
    rsts: &[String],
    accepted: Result<(), ErrorKind>,
) {
    // The kernel answered its own SYN-ACK, sent to our port, with a RST from
    // our address and port: no kernel socket has that port.
    assert!(
        rsts.iter()
            .any(|rst| rst.starts_with("TCP 127.0.0.2:50001 > 127.0.0.1:8000 [R]")),
        "{rsts:?}"
    );
    // So the kernel's half-open connection was gone when our ACK came, and
    // its answer reset ours.
    let reset = events.iter().any(|event| {
        matches!(
            event,
            Event::State {
                from: State::Established,
                to: State::Closed,
                cause: Cause::PeerReset,
            }
        )
    });
    assert!(reset, "{events:#?}");
    // The kernel's server never saw a connection.
    assert_eq!(accepted, Err(ErrorKind::WouldBlock));
}

#[test]
fn without_the_rule_the_kernel_resets_our_connection_in_our_name() {
    let test = "without_the_rule_the_kernel_resets_our_connection_in_our_name";
    let Some((events, rsts, accepted)) =
        in_private_network(test, || connect_without_the_rule(false))
    else {
        return;
    };
    assert_reset_in_our_name(&events, &rsts, accepted);
}

#[test]
fn a_kernel_socket_bound_to_our_port_does_not_stop_the_rst() {
    let test = "a_kernel_socket_bound_to_our_port_does_not_stop_the_rst";
    // Bound, not listening: the kernel's TCP looks up listening and
    // connected sockets only.
    let Some((events, rsts, accepted)) =
        in_private_network(test, || connect_without_the_rule(true))
    else {
        return;
    };
    assert_reset_in_our_name(&events, &rsts, accepted);
}
// ANCHOR_END: without_the_rule

// ANCHOR: own_rst
#[test]
fn our_own_rst_carries_the_mark_and_passes_the_rule() {
    let test = "our_own_rst_carries_the_mark_and_passes_the_rule";
    if !nft_installed(test) {
        return;
    }
    let Some((ran, server_saw)) = in_private_network(test, || {
        let listener = TcpListener::bind(KERNEL).expect("bind");
        // The kernel's server reads until something ends the connection.
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let mut buf = [0u8; 64];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(error) => return Err(error.kind()),
                }
            }
        });
        let mut client = start(command(&["client", "--peer-port", "8000"]));
        assert!(client.wait_for("SYN-SENT -> ESTABLISHED"), "no connection");
        // SIGTERM: our client aborts, with a RST from the port the rule
        // silences.
        client.signal(Signal::SIGTERM);
        (client.finish(), server.join().expect("the server thread"))
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("client: ESTABLISHED -> CLOSED: abort(): our RST goes out"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("client:   wrote 127.0.0.2:50001 > 127.0.0.1:8000 [R] seq 13"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("RSTs among them: 1"), "{}", ran.stderr);
    // It reached the kernel's server.
    assert_eq!(server_saw, Err(ErrorKind::ConnectionReset));
}
// ANCHOR_END: own_rst
