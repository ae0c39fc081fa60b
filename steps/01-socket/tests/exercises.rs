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
