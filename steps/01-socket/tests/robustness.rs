//! No bytes from the network can make the packet code panic: every truncation
//! and some 20 000 mutations of the two test packets go through every path a
//! received packet takes (parse, summary, checksum, annotated dump).
//!
//! The dumps are also checked for one property: every byte of the packet
//! appears in the dump exactly once, in order, at its offset.

mod common;

use common::*;
use step_01_socket::packet::checksum_status;
use step_01_socket::{TcpPacket, annotate_packet, annotate_segment, parse_received};

/// The bytes a dump shows, in order, read back from its lines
/// (`  0028  02 04 ff d7              option MSS 65495`): offset, then up to 8
/// hex bytes. Checks that each line's offset follows on from the last.
fn bytes_shown(dump: &str) -> Vec<u8> {
    let mut shown = Vec::new();
    for line in dump.lines().filter(|line| line.starts_with("  ")) {
        let offset = usize::from_str_radix(&line[2..6], 16).expect("offset");
        assert_eq!(offset, shown.len(), "offset out of order in\n{dump}");
        let hex = line.get(8..31).unwrap_or(&line[8..]);
        for pair in hex.split_whitespace() {
            shown.push(u8::from_str_radix(pair, 16).expect("hex byte"));
        }
    }
    shown
}

/// Runs `bytes` through every path a received packet can take.
fn exercise(bytes: &[u8]) {
    let dump = annotate_packet(bytes);
    match parse_received(bytes) {
        Ok(packet) => {
            let _ = packet.summary();
            let _ = packet.checksum_status();
            let _ = (packet.src(), packet.dst(), packet.tcp_repr());
            // The dump shows the packet up to its total length, every byte once.
            let total_len = usize::from(packet.ip.total_len());
            assert_eq!(bytes_shown(&dump), &bytes[..total_len], "{dump}");
        }
        Err(_) => {
            assert!(dump.starts_with("not a well-formed IPv4 + TCP packet: "));
            assert_eq!(bytes_shown(&dump), bytes, "{dump}");
        }
    }
    // What comes after 20 bytes, taken as a bare TCP segment.
    let tail = &bytes[bytes.len().min(IP_HEADER_LEN)..];
    if let Ok(view) = TcpPacket::new_checked(tail) {
        let _ = checksum_status(CLIENT, SERVER, &view);
    }
    if let Ok(dump) = annotate_segment(CLIENT, SERVER, tail) {
        assert_eq!(bytes_shown(&dump), tail, "{dump}");
    }
}

#[test]
fn every_truncation_is_handled() {
    for packet in [&DATA_PACKET[..], &KERNEL_SYN[..]] {
        for len in 0..=packet.len() {
            exercise(&packet[..len]);
            // And the same with total length saying exactly that many bytes.
            let mut bytes = packet[..len].to_vec();
            if len >= 4 {
                bytes[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            }
            exercise(&bytes);
        }
    }
}

/// Bytes where one change matters most: version/IHL, total length, protocol,
/// data offset, and (in the SYN) the options' kinds and lengths.
const SENSITIVE: [usize; 10] = [0, 2, 3, 9, 32, 40, 41, 44, 45, 46];

#[test]
fn twenty_thousand_mutations_are_handled() {
    let mut rng = Rng::new(0x5eed_0002);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let packet: &[u8] = if rng.below(2) == 0 {
            &DATA_PACKET
        } else {
            &KERNEL_SYN
        };
        let mut bytes = packet.to_vec();
        for _ in 0..=rng.below(4) {
            match rng.below(5) {
                // A random byte anywhere.
                0 => {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.byte();
                }
                // A flipped bit anywhere.
                1 => {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
                // A random byte where lengths and kinds live.
                2 => {
                    let at = SENSITIVE[rng.below(SENSITIVE.len())];
                    if at < bytes.len() {
                        bytes[at] = rng.byte();
                    }
                }
                // Cut short.
                3 => bytes.truncate(rng.below(bytes.len() + 1)),
                // Random bytes appended (IPv4 options or TCP options to be).
                _ => {
                    let more = rng.below(48);
                    bytes.extend(rng.bytes(more));
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        if parse_received(&bytes).is_ok() {
            accepted += 1;
        }
        exercise(&bytes);
    }
    // Both paths were taken often enough to mean something.
    assert!(accepted > 2_000, "only {accepted} mutants parsed");
    assert!(accepted < 18_000, "{accepted} mutants parsed");
}

#[test]
fn random_tcp_options_are_handled() {
    // The SYN with its 20 option bytes replaced by random ones, and with
    // hand-picked bad ones: a length of 0 or 1, a length past the end, an
    // option cut after its kind.
    let mut rng = Rng::new(0x5eed_0003);
    let mut cases: Vec<[u8; 20]> = vec![
        [
            0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        [
            0x08, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ],
        [
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x08, 0x0a,
        ],
        [
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x03,
        ],
        [
            0x03, 0x03, 0xff, 0x02, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0,
        ],
    ];
    for _ in 0..2_000 {
        let mut options = [0u8; 20];
        options.copy_from_slice(&rng.bytes(20));
        cases.push(options);
    }
    for options in cases {
        let mut bytes = KERNEL_SYN.to_vec();
        bytes[40..].copy_from_slice(&options);
        assert!(parse_received(&bytes).is_ok());
        exercise(&bytes);
    }
}

#[test]
fn a_bad_option_length_is_reported_not_trusted() {
    let mut bytes = KERNEL_SYN.to_vec();
    bytes[41] = 0x40; // MSS "64 bytes long", in a 20-byte option area
    let dump = annotate_packet(&bytes);
    assert!(
        dump.contains("  0028  02 40 ff d7 04 02 08 0a  option 2 with a bad length")
    );
    bytes[41] = 0x01; // shorter than its own kind and length bytes
    let dump = annotate_packet(&bytes);
    assert!(dump.contains("option 2 with a bad length"), "{dump}");
}
