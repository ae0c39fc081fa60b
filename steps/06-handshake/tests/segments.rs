//! Snapshots of the bytes our TCP writes, field by field, and of whole
//! conversations between two of our TCPs (no socket: see
//! `tests/common/mod.rs`).
//!
//! Everything is deterministic: the client starts its sequence numbers at
//! 1000, the server at 5000, the ports are the workbook's, and a segment's IP
//! identification, which the kernel would choose, is fixed at 1.

mod common;

use std::fmt::Write as _;

use common::{both_closed, pair, talk};
use step_01_socket::TcpFlags;
use step_06_handshake::Outgoing;
use testkit::annotated;

/// The summary line and every field of a segment as written.
fn dump(out: &Outgoing) -> String {
    let segment = &out.seen.segment;
    annotated(segment.src, segment.dst, &out.bytes)
}

/// The segments of a whole clean conversation, in the order written.
fn clean() -> Vec<(&'static str, Outgoing, bool)> {
    let (mut client, mut server) = pair();
    let log = talk(&mut client, &mut server, |_, _| false);
    assert!(both_closed(&client, &server), "{}", log.text);
    log.written
}

/// Dumps of the segments written that `pick` selects.
fn dumps(pick: impl Fn(&Outgoing) -> bool) -> String {
    let mut text = String::new();
    for (who, out, _) in clean().iter().filter(|(_, out, _)| pick(out)) {
        let _ = writeln!(text, "{who} writes:\n{}", dump(out));
    }
    text
}

// ANCHOR: snapshots
#[test]
fn handshake_segments() {
    // The first three: SYN, SYN-ACK, ACK.
    let written = clean();
    let mut text = String::new();
    for (who, out, _) in &written[..3] {
        let _ = writeln!(text, "{who} writes:\n{}", dump(out));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn data_segments() {
    // The request and the reply, which acknowledges it.
    insta::assert_snapshot!(dumps(|out| !out.seen.segment.payload.is_empty()));
}

#[test]
fn close_segments() {
    // From the first FIN on: the client's FIN, which also acknowledges the
    // reply, the server's FIN, which acknowledges the client's, and the last
    // ACK.
    let written = clean();
    let first_fin = written
        .iter()
        .position(|(_, out, _)| out.seen.segment.has(TcpFlags::FIN))
        .expect("a FIN");
    assert_eq!(written.len() - first_fin, 3);
    let mut text = String::new();
    for (who, out, _) in &written[first_fin..] {
        let _ = writeln!(text, "{who} writes:\n{}", dump(out));
    }
    insta::assert_snapshot!(text);
}

/// An independent parser agrees with every field and checksum we wrote.
#[test]
fn etherparse_reads_every_segment_as_we_meant_it() {
    for (_, out, _) in clean() {
        let segment = &out.seen.segment;
        let header = etherparse::TcpHeaderSlice::from_slice(&out.bytes)
            .expect("etherparse parses it")
            .to_header();
        assert_eq!(header.source_port, segment.src.port());
        assert_eq!(header.destination_port, segment.dst.port());
        assert_eq!(header.sequence_number, segment.seq.0);
        assert_eq!(header.ack, segment.ack.is_some());
        assert_eq!(header.syn, segment.has(TcpFlags::SYN));
        assert_eq!(header.fin, segment.has(TcpFlags::FIN));
        assert_eq!(header.window_size, segment.window);
        let payload = &out.bytes[header.header_len()..];
        assert_eq!(payload, segment.payload);
        let sum = header
            .calc_checksum_ipv4_raw(
                segment.src.ip().octets(),
                segment.dst.ip().octets(),
                payload,
            )
            .expect("a checksum");
        assert_eq!(sum, header.checksum, "{}", out.seen);
    }
}

#[test]
fn conversation_transcript() {
    let (mut client, mut server) = pair();
    let log = talk(&mut client, &mut server, |_, _| false);
    assert!(both_closed(&client, &server));
    insta::assert_snapshot!(log.text);
}
// ANCHOR_END: snapshots

// ANCHOR: loss
#[test]
fn a_lost_syn_ack_and_a_lost_ack_still_end_in_a_connection() {
    let (mut client, mut server) = pair();
    // Segment 1 is the server's SYN-ACK; after the client's SYN goes again
    // and the SYN-ACK with it, the client's first ACK (segment 4) is lost too.
    let log = talk(&mut client, &mut server, |n, _| n == 1 || n == 4);
    assert!(both_closed(&client, &server), "{}", log.text);
    assert_eq!(client.tcb.stats().bytes_received, 12);
    assert_eq!(server.tcb.stats().bytes_received, 12);
    insta::assert_snapshot!(log.text);
}

#[test]
fn when_every_syn_is_lost_the_client_gives_up_within_its_bound() {
    let (mut client, mut server) = pair();
    let log = talk(&mut client, &mut server, |_, _| true);
    let tries = client.tcb.config().tries;
    let syns = log
        .written
        .iter()
        .filter(|(who, _, _)| *who == "client")
        .count();
    assert_eq!(syns as u32, tries);
    assert!(log.text.contains(
        "client: SYN-SENT -> CLOSED: no ACK for our SYN after 4 tries over 3s: giving up"
    ), "{}", log.text);
    insta::assert_snapshot!(log.text);
}
// ANCHOR_END: loss
