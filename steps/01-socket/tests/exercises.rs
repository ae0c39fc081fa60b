//! The checks of step 1's exercises (`src/exercises/`). Each pins the bytes a
//! correct answer produces, as an annotated dump and a summary line.
//!
//! They are ignored in a plain `cargo test`, so the workspace stays green while
//! the starters are unsolved. Check one exercise with the command in its
//! `ignore` message; `--features solutions` runs them on the reference
//! solutions.

use std::net::SocketAddrV4;

use step_01_socket::checksum::verify_tcp;
use step_01_socket::exercises::find_segment::tcp_segment;
use step_01_socket::exercises::syn_segment::syn_segment;
use step_01_socket::exercises::{CLIENT, SERVER};
use step_01_socket::{
    ChecksumCheck, Ipv4Packet, ParseError, SeqNumber, TcpFlags, TcpRepr,
    annotate_packet, annotate_segment, segment_summary,
};

/// Every field of `segment` next to its bytes, then the summary line; or why
/// the bytes are no TCP segment.
fn segment_dump(src: SocketAddrV4, dst: SocketAddrV4, segment: &[u8]) -> String {
    // A wrong checksum is shown in the dump, so the summary ignores it.
    let line = match segment_summary(src, dst, segment, ChecksumCheck::Ignore) {
        Ok(line) => line,
        Err(error) => return format!("not a TCP segment: {error}\n"),
    };
    let fields = annotate_segment(*src.ip(), *dst.ip(), segment)
        .unwrap_or_else(|error| format!("not a TCP segment: {error}\n"));
    format!("{fields}\n{line}\n")
}

/// What `tcp_segment` made of some bytes, in one line.
fn outcome(found: Result<&[u8], ParseError>) -> String {
    match found {
        Ok(segment) => format!("a {}-byte segment", segment.len()),
        Err(error) => format!("error: {error}"),
    }
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-01-socket --test exercises exercise_syn_segment -- --ignored"
)]
fn exercise_syn_segment() {
    let segment = syn_segment();
    insta::assert_snapshot!("syn_segment", segment_dump(CLIENT, SERVER, &segment));
    assert!(
        verify_tcp(*CLIENT.ip(), *SERVER.ip(), &segment),
        "the checksum does not verify for 127.0.0.2 -> 127.0.0.1"
    );
}

/// The client's request as a raw socket reads it when the IPv4 header carries
/// a Router Alert option (RFC 2113: type 148, length 4, value 0): IHL 6, a
/// 24-byte header, total length 56.
fn request_with_ip_options() -> Vec<u8> {
    let segment = TcpRepr {
        src_port: CLIENT.port(),
        dst_port: SERVER.port(),
        seq: SeqNumber(1),
        ack_number: Some(SeqNumber(1)),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: 65535,
        payload: b"Hello server",
    }
    .to_bytes(*CLIENT.ip(), *SERVER.ip());
    let mut packet = vec![0u8; 24];
    let mut ip = Ipv4Packet::new_unchecked(&mut packet[..]);
    ip.set_version_ihl(6);
    ip.set_total_len((24 + segment.len()) as u16);
    ip.set_ident(1);
    ip.set_flags_frag(step_01_socket::ipv4::FLAG_DF);
    ip.set_ttl(64);
    ip.set_protocol(6);
    ip.set_src_addr(*CLIENT.ip());
    ip.set_dst_addr(*SERVER.ip());
    packet[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    Ipv4Packet::new_unchecked(&mut packet[..]).fill_checksum();
    packet.extend_from_slice(&segment);
    packet
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-01-socket --test exercises exercise_find_segment -- --ignored"
)]
fn exercise_find_segment() {
    let packet = request_with_ip_options();
    let found = match tcp_segment(&packet) {
        Ok(segment) => segment_dump(CLIENT, SERVER, segment),
        Err(error) => format!("error: {error}\n"),
    };
    // The same packet cut inside its TCP header, and one with bytes after its
    // end: neither may be taken for the 32-byte segment.
    let cut = outcome(tcp_segment(&packet[..30]));
    let mut longer = packet.clone();
    longer.extend_from_slice(b"junk");
    let past_end = outcome(tcp_segment(&longer));
    let text = format!(
        "the packet as read:\n{}\nthe segment tcp_segment() returns:\n{found}\n\
         cut to 30 bytes: {cut}\n4 bytes past total length: {past_end}\n",
        annotate_packet(&packet),
    );
    insta::assert_snapshot!("find_segment", text);
}

// The exercise `read_one_packet`: the learner's own system calls, run in a
// private network namespace.

use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

use nix::sys::socket::{
    AddressFamily, SockFlag, SockProtocol, SockType, SockaddrIn, bind, connect,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;
use step_01_socket::exercises::read_one_packet::{open_raw_tcp, read_one};
use step_01_socket::{MAX_PACKET, parse_received};
use testkit::in_private_network;

/// How long one of the check's reads waits for a packet before it fails with
/// EAGAIN.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// Makes the kernel's own TCP send a SYN from CLIENT to SERVER, where nothing
/// listens, and answer it itself with RST|ACK: a kernel TCP socket bound to
/// 127.0.0.2:50001 connects to 127.0.0.1:50000 (fixed ports, so that nothing
/// in the snapshot is random). Returns how the connect ended.
fn kernel_syn_to_a_closed_port() -> String {
    let tcp = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::Tcp,
    )
    .expect("socket(AF_INET, SOCK_STREAM, IPPROTO_TCP)");
    bind(tcp.as_raw_fd(), &SockaddrIn::from(CLIENT)).expect("bind(127.0.0.2:50001)");
    match connect(tcp.as_raw_fd(), &SockaddrIn::from(SERVER)) {
        Ok(()) => format!("connected: something listens on {SERVER}"),
        Err(errno) => errno.to_string(),
    }
}

/// What one read left in `buf`, `len` bytes of it, in one line: the lengths
/// of the headers, the addresses and the flags; or why it is no whole packet.
fn what_was_read(len: usize, buf: &[u8]) -> String {
    let Some(bytes) = buf.get(..len) else {
        return format!("{len}, more than the {}-byte buffer", buf.len());
    };
    match parse_received(bytes) {
        Ok(packet) => format!(
            "{len} bytes: IPv4 header {} bytes, TCP header {} bytes, payload {} \
             bytes, {} > {} {}",
            packet.ip.header_len(),
            packet.tcp.header_len(),
            packet.tcp.payload().len(),
            packet.src(),
            packet.dst(),
            packet.tcp.flags(),
        ),
        Err(error) if bytes.len() >= 20 && bytes[0] >> 4 == 4 => {
            // The fixed IPv4 header is all there: whose packet was cut?
            let ip = Ipv4Packet::new_unchecked(bytes);
            let (src, dst) = (ip.src_addr(), ip.dst_addr());
            format!("{len} bytes of a packet {src} > {dst}, not all of it: {error}")
        }
        Err(error) => format!("{len} bytes, not a whole packet: {error}"),
    }
}

/// Opens the learner's socket, makes the kernel send its SYN and RST, and
/// reads twice with the learner's `read_one`: the report, a line per step.
fn read_two_packets() -> String {
    let socket: OwnedFd = match open_raw_tcp() {
        Ok(socket) => socket,
        Err(errno) => return format!("open_raw_tcp() failed: {errno}\n"),
    };
    // A blocking read that waits in vain fails with EAGAIN after this long.
    let timeout = TimeVal::new(READ_TIMEOUT.as_secs() as _, 0);
    if let Err(errno) = setsockopt(&socket, sockopt::ReceiveTimeout, &timeout) {
        return format!("setsockopt(SO_RCVTIMEO) on your socket failed: {errno}\n");
    }
    let mut text = format!(
        "the kernel's TCP at {CLIENT} connects to {SERVER}: {}\n",
        kernel_syn_to_a_closed_port()
    );
    let mut buf = vec![0u8; MAX_PACKET];
    for read in ["1st", "2nd"] {
        let (line, read_again) = match read_one(&socket, &mut buf) {
            Ok(len) => (what_was_read(len, &buf), true),
            Err(nix::errno::Errno::EAGAIN) => {
                let secs = READ_TIMEOUT.as_secs();
                (format!("EAGAIN: nothing arrived within {secs} s"), false)
            }
            Err(errno) => (format!("failed: {errno}"), false),
        };
        let _ = writeln!(text, "read_one, {read} read: {line}");
        if !read_again {
            break;
        }
    }
    text
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-01-socket --test exercises exercise_read_one_packet -- --ignored"
)]
fn exercise_read_one_packet() {
    let Some(text) =
        in_private_network("exercise_read_one_packet", read_two_packets)
    else {
        return;
    };
    insta::assert_snapshot!("read_one_packet", text);
}
