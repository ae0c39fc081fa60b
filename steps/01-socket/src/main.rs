//! Step 1: open a raw TCP socket and look at what it reads.
//!
//! Inside a private network namespace, the program opens
//! `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, makes the kernel send a few TCP
//! segments of its own (a `TcpStream` connecting to a port where nothing
//! listens), and prints every packet the raw socket reads, field by field.

use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use step_01_socket::netns::enter_private_namespace;
use step_01_socket::{
    Family, MAX_PACKET, RawSocket, RecvError, annotate_packet, parse_received,
};

const USAGE: &str = "\
usage: step-01-socket [--port PORT]

Opens socket(AF_INET, SOCK_RAW, IPPROTO_TCP) in a private network namespace,
connects a kernel TCP socket to 127.0.0.1:PORT (nothing listens there), and
prints every packet the raw socket reads: IPv4 header, TCP header, payload.

options:
  --port PORT   the closed port to connect to (default 50000)
  -h, --help    this text";

fn parse_args() -> Result<u16, String> {
    let mut port = 50000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port =
                    value.parse().ok().filter(|p| *p != 0).ok_or(format!(
                        "--port: {value:?} is not a port (1-65535)"
                    ))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(port)
}

fn main() -> ExitCode {
    let port = match parse_args() {
        Ok(port) => port,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // First thing, while the process has one thread: a network of our own.
    match enter_private_namespace() {
        Ok(namespace) => println!("{namespace}"),
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    }
    match run(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(port: u16) -> Result<(), String> {
    // ANCHOR: open
    // AF_INET and PF_INET are the same number; both open the same kind of socket.
    println!("AF_INET = {}, PF_INET = {}", libc::AF_INET, libc::PF_INET);
    for family in [Family::AfInet, Family::PfInet] {
        let socket = RawSocket::open(family).map_err(|e| e.to_string())?;
        let (kind, protocol) =
            socket.type_and_protocol().map_err(|e| e.to_string())?;
        println!(
            "socket({}, SOCK_RAW, IPPROTO_TCP) = fd {}: SO_TYPE {} (SOCK_RAW = {}), SO_PROTOCOL {}",
            family.name(),
            std::os::fd::AsRawFd::as_raw_fd(&socket),
            kind,
            libc::SOCK_RAW,
            protocol
        );
    }
    let socket = RawSocket::open(Family::AfInet).map_err(|e| e.to_string())?;
    // ANCHOR_END: open

    // ANCHOR: provoke
    // The kernel's own TCP: a connection attempt to a port where nothing listens.
    // It sends a SYN; the kernel on the other side answers with RST|ACK.
    let target = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    println!("\nconnecting a kernel TCP socket to {target} (nothing listens there)");
    match TcpStream::connect_timeout(&target.into(), Duration::from_secs(1)) {
        Ok(_) => println!("connected?! something listens on {target}"),
        Err(error) => println!("connect: {error}"),
    }
    // ANCHOR_END: provoke

    // ANCHOR: read
    // Everything is already queued on the raw socket: read until it is quiet.
    socket
        .set_recv_timeout(Duration::from_millis(200))
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; MAX_PACKET];
    let mut count = 0;
    let mut starts_with_ip_header = 0;
    loop {
        let len = match socket.recv(&mut buf) {
            Ok(len) => len,
            Err(RecvError::Sys(e)) if e.errno == nix::errno::Errno::EAGAIN => break,
            Err(error) => return Err(error.to_string()),
        };
        count += 1;
        let bytes = &buf[..len];
        if bytes.first() == Some(&0x45) {
            starts_with_ip_header += 1;
        }
        match parse_received(bytes) {
            Ok(packet) => {
                println!("\npacket {count}: {len} bytes, {}", packet.summary())
            }
            Err(error) => {
                println!("\npacket {count}: {len} bytes, malformed: {error}")
            }
        }
        print!("{}", annotate_packet(bytes));
    }
    // ANCHOR_END: read
    println!(
        "\n{count} packets read, {starts_with_ip_header} starting with 0x45: \
         a read returns the IPv4 header (version 4, 5 words) before the TCP header"
    );
    Ok(())
}
