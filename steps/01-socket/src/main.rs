//! Step 1: open a raw TCP socket and look at what it reads.
//!
//! The chapter's story, in the order `main` runs it:
//! 1. enter a private network namespace: a network with only `lo`, where the raw
//!    socket sees nothing but the traffic this program makes, and where an
//!    ordinary user holds CAP_NET_RAW;
//! 2. open `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)`, and again with the old name
//!    `PF_INET`: the same number, the same kind of socket;
//! 3. make the kernel's own TCP send something: connecting to a port where
//!    nothing listens sends a SYN, and the kernel answers it with RST|ACK;
//! 4. read what the raw socket received and print it field by field: every read
//!    starts with the IPv4 header (byte 0x45), then comes the TCP header.
//!
//! With `--pcap FILE`, every packet read is also written to FILE as pcap, for
//! Wireshark or tshark to open.

use std::error::Error;
use std::fs::File;
use std::io::BufWriter;
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use step_01_socket::{
    Family, MAX_PACKET, RawSocket, SysError, annotate_packet, parse_received,
};
use support::pcap::{PcapWriter, arrival_time, enable_arrival_times};
use support::privileges::drop_after_sudo;
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, usage_error,
};

const USAGE: &str = "\
usage: step-01-socket [--port PORT] [--pcap FILE]

Opens socket(AF_INET, SOCK_RAW, IPPROTO_TCP) in a private network namespace,
connects a kernel TCP socket to 127.0.0.1:PORT (nothing listens there), and
prints every packet the raw socket reads: IPv4 header, TCP header, payload.

options:
  --port PORT   the closed port to connect to (default 50000)
  --pcap FILE   also write every packet read to FILE, as pcap with link type
                101 (LINKTYPE_RAW: IPv4 header first) and the time each packet
                arrived, for Wireshark or `tshark -r FILE`; FILE is created
                before anything is sent (exit status 1 if it cannot be)
  -h, --help    this text";

/// The port the kernel's connection attempt goes to.
const DEFAULT_PORT: u16 = 50000;

/// How long the raw socket must stay silent before we stop reading.
const QUIET: Duration = Duration::from_millis(200);

/// What the command line asks for.
enum Command {
    /// Capture the segments of a connection attempt to `127.0.0.1:port`, and
    /// write them to the `pcap` file if one is named.
    Capture { port: u16, pcap: Option<PathBuf> },
    /// Print the usage text.
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut port = DEFAULT_PORT;
    let mut pcap = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                port = parse_port(&value)?;
            }
            "--pcap" => {
                let value = args.next().ok_or("--pcap needs a file name")?;
                pcap = Some(PathBuf::from(value));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Command::Capture { port, pcap })
}

/// A port to connect to: 1 to 65535 (port 0 is no destination).
fn parse_port(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(format!("--port: {value:?} is not a port (1-65535)")),
    }
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    // args_os: an argument that is not UTF-8 is an unknown argument, not a panic.
    let args = std::env::args_os().skip(1);
    let (port, pcap) =
        match parse_args(args.map(|arg| arg.to_string_lossy().into_owned())) {
            Ok(Command::Capture { port, pcap }) => (port, pcap),
            Ok(Command::Help) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Err(message) => return usage_error(message, USAGE),
        };

    // ANCHOR: pcap_create
    // The capture file first: a path that cannot be written fails now, before
    // anything is sent.
    let pcap = match pcap.map(PcapWriter::create).transpose() {
        Ok(pcap) => pcap,
        Err(error) => return fail(format_args!("--pcap: {error}")),
    };
    // ANCHOR_END: pcap_create

    // ANCHOR: namespace
    // First thing, while the process has one thread: a network of our own
    // (or the reason there is none, and the remedies).
    if let Err(exit) = enter_private_network() {
        return exit;
    }
    // ANCHOR_END: namespace

    match run(port, pcap) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

// ANCHOR: run
/// The capture file `--pcap` names.
type Pcap = PcapWriter<BufWriter<File>>;

/// Steps 2 to 4 of the story, inside the namespace.
fn run(port: u16, mut pcap: Option<Pcap>) -> Result<(), Box<dyn Error>> {
    let socket = open_raw_socket()?;
    // The socket is open, and using it needs no privilege: give root up.
    if let Some(dropped) = drop_after_sudo()? {
        println!("{dropped}");
    }
    if pcap.is_some() {
        // Before the packets come, so that each gets the time it arrived.
        enable_arrival_times(&socket)?;
    }
    provoke_kernel_segments(port);
    let (count, with_ip_header) = read_until_quiet(&socket, pcap.as_mut())?;
    println!(
        "\n{count} packets read, {with_ip_header} starting with 0x45: \
         a read returns the IPv4 header (version 4, 5 words) before the TCP header"
    );
    if let Some(pcap) = pcap {
        let (written, name) = (pcap.count(), pcap.name().to_owned());
        pcap.finish()?;
        println!("pcap: {written} packets written to {name}");
    }
    Ok(())
}
// ANCHOR_END: run

// ANCHOR: open
/// Opens the raw socket under both names of the IPv4 family and prints what the
/// kernel says each one is. Returns the `AF_INET` one.
fn open_raw_socket() -> Result<RawSocket, SysError> {
    // AF_INET ("address family") and PF_INET ("protocol family") are one number.
    println!("AF_INET = {}, PF_INET = {}", libc::AF_INET, libc::PF_INET);
    let socket = RawSocket::open(Family::AfInet)?;
    describe(&socket, Family::AfInet)?;
    let twin = RawSocket::open(Family::PfInet)?;
    describe(&twin, Family::PfInet)?;
    // One socket is enough to read from. (Both would get a copy of every TCP
    // segment: a raw socket has no port to filter on.)
    drop(twin);
    Ok(socket)
}

/// Asks the kernel for the socket's type and protocol (getsockopt SO_TYPE and
/// SO_PROTOCOL) and prints them.
fn describe(socket: &RawSocket, family: Family) -> Result<(), SysError> {
    let (kind, protocol) = socket.type_and_protocol()?;
    println!(
        "socket({}, SOCK_RAW, IPPROTO_TCP) = fd {}: \
         SO_TYPE {kind} (SOCK_RAW = {}), SO_PROTOCOL {protocol} (IPPROTO_TCP = {})",
        family.name(),
        socket.as_raw_fd(),
        libc::SOCK_RAW,
        libc::IPPROTO_TCP,
    );
    Ok(())
}
// ANCHOR_END: open

// ANCHOR: provoke
/// Makes the kernel's own TCP send segments for the raw socket to see: a
/// connection attempt to a port where nothing listens. The kernel sends a SYN;
/// finding no listener, it answers with RST|ACK, and connect fails with
/// "Connection refused".
fn provoke_kernel_segments(port: u16) {
    let target = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    println!("\nconnecting a kernel TCP socket to {target} (nothing listens there)");
    match TcpStream::connect_timeout(&target.into(), Duration::from_secs(1)) {
        Ok(_) => println!("connected?! something listens on {target}"),
        Err(error) => println!("connect: {error}"),
    }
}
// ANCHOR_END: provoke

// ANCHOR: read
/// Reads and prints packets until the socket has been quiet for [`QUIET`], and
/// writes each to `pcap` if there is one. Returns how many were read and how
/// many started with 0x45: version 4 and IHL 5, an IPv4 header of 5 32-bit
/// words (20 bytes) without options. A header with options would start with
/// 0x46 to 0x4f; the dump of each packet shows its real IHL.
fn read_until_quiet(
    socket: &RawSocket,
    mut pcap: Option<&mut Pcap>,
) -> Result<(usize, usize), Box<dyn Error>> {
    // Both segments are already queued: a read that waits longer than this
    // means there is nothing more to come.
    socket.set_recv_timeout(QUIET)?;
    // One read returns one whole packet; offer room for the largest.
    let mut buf = vec![0u8; MAX_PACKET];
    let (mut count, mut with_ip_header) = (0, 0);
    // `None`: the timeout passed with nothing queued, so all is read.
    while let Some(len) = socket.try_recv(&mut buf)? {
        count += 1;
        let bytes = &buf[..len];
        if let Some(pcap) = pcap.as_deref_mut() {
            // Exactly as read, IPv4 header first, stamped with its arrival.
            pcap.write(bytes, arrival_time(socket)?)?;
        }
        // Version 4, IHL 5: an IPv4 header of 20 bytes, no options.
        if bytes.first() == Some(&0x45) {
            with_ip_header += 1;
        }
        show_packet(count, bytes);
    }
    Ok((count, with_ip_header))
}

/// Prints one packet: a summary line, then every field next to its bytes.
fn show_packet(number: usize, bytes: &[u8]) {
    let len = bytes.len();
    match parse_received(bytes) {
        Ok(packet) => {
            println!("\npacket {number}: {len} bytes, {}", packet.summary())
        }
        Err(error) => println!("\npacket {number}: {len} bytes, malformed: {error}"),
    }
    print!("{}", annotate_packet(bytes));
}
// ANCHOR_END: read
