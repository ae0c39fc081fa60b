//! The annotated dumps a learner reads, pinned as text: the book shows these
//! same snapshots, so the book and the code cannot disagree.

mod common;

use common::*;
use step_01_socket::{annotate_packet, annotate_segment, parse_received};

/// A dump followed by its one-line summary, as the step binaries print them.
fn dump_with_summary(bytes: &[u8]) -> String {
    let packet = parse_received(bytes).expect("well-formed");
    format!("{}\n{}", annotate_packet(bytes), packet.summary())
}

#[test]
fn data_packet_as_a_raw_socket_reads_it() {
    insta::assert_snapshot!(dump_with_summary(&DATA_PACKET));
}

#[test]
fn kernel_syn_with_options_and_partial_checksum() {
    insta::assert_snapshot!(dump_with_summary(&KERNEL_SYN));
}

#[test]
fn data_segment_as_our_programs_write_it() {
    let dump =
        annotate_segment(CLIENT, SERVER, data_segment()).expect("well-formed");
    insta::assert_snapshot!(dump);
}

#[test]
fn data_segment_with_a_flipped_bit() {
    let mut segment = data_segment().to_vec();
    segment[20] ^= 0x01; // "Hello server" becomes "Iello server"
    let dump = annotate_segment(CLIENT, SERVER, &segment).expect("well-formed");
    insta::assert_snapshot!(dump);
}

#[test]
fn a_cut_packet_is_shown_as_plain_bytes_with_the_reason() {
    insta::assert_snapshot!(annotate_packet(&DATA_PACKET[..30]));
}
