//! Hostile input: 100 000 seeded mutants of four real packets, plus every
//! truncation of each, go through everything a program does with the bytes of
//! one read (see `mutator::handle`). None may panic, and the answers must
//! agree with each other.
//!
//! The mutants must also be *varied*: a test where everything parses (or
//! nothing does) would pass without testing much, so the counts are checked
//! too. For a million mutants, in release mode:
//! `cargo run --release -p step-01-socket --example mutate -- 1000000`.

mod common;
mod mutator;

use common::DATA_PACKET;
use mutator::{Mutation, Mutator, Outcome, SEED, SEEDS, Tally, Verdict, handle};
use step_01_socket::{
    ChecksumStatus, Ipv4Packet, MAX_PACKET, ParseError, TcpPacket, parse_received,
};

/// How many mutants the test runs.
const MUTANTS: u64 = 100_000;

#[test]
fn the_seeds_are_the_packets_they_claim_to_be() {
    let outcomes: Vec<Outcome> =
        SEEDS.iter().map(|(_, bytes)| handle(bytes)).collect();
    assert_eq!(
        outcomes,
        [
            // Our data packet, client to server, both checksums right.
            Outcome::Parsed(ChecksumStatus::Correct, Verdict::FromPeer),
            // The kernel's SYN: only a partial checksum on lo.
            Outcome::Parsed(ChecksumStatus::Partial, Verdict::Foreign),
            // The kernel's RST, to some other port.
            Outcome::Parsed(ChecksumStatus::Correct, Verdict::Foreign),
            // The IPv4 options change nothing the TCP checksum covers.
            Outcome::Parsed(ChecksumStatus::Correct, Verdict::FromPeer),
        ]
    );
    for (name, bytes) in SEEDS {
        let packet = parse_received(bytes).expect(name);
        assert!(packet.ip.verify_checksum(), "{name}: IPv4 header checksum");
    }
    // IHL 6 moves the TCP header, not its contents.
    let with_options = parse_received(SEEDS[3].1).expect("IHL 6");
    assert_eq!(with_options.ip.header_len(), 24);
    let plain = parse_received(&DATA_PACKET).expect("data packet");
    assert_eq!(with_options.tcp.into_inner(), plain.tcp.into_inner());
}

#[test]
fn every_mutation_changes_something_somewhere() {
    // Each kind of mutation, applied 100 times to the data packet, changes it
    // at least once: none of them is a silent no-op.
    let mut mutator = Mutator::new(SEED);
    for mutation in Mutation::ALL {
        let changed = (0..100).any(|_| {
            let mut bytes = DATA_PACKET.to_vec();
            mutator.apply(mutation, &mut bytes);
            bytes != DATA_PACKET
        });
        assert!(changed, "{mutation:?} never changed the packet");
    }
}

#[test]
fn the_largest_packet_a_read_can_return_is_handled() {
    // MAX_PACKET (65 535) bytes: our data packet's headers, each stretched to
    // 60 bytes (IHL 15, data offset 15) with NOP options, then 65 415 bytes
    // of payload. Total length and both checksums are right.
    let mut bytes = vec![0x01; MAX_PACKET];
    bytes[..20].copy_from_slice(&DATA_PACKET[..20]);
    bytes[0] = 0x4f;
    bytes[2..4].copy_from_slice(&65535u16.to_be_bytes());
    bytes[60..80].copy_from_slice(&DATA_PACKET[20..40]);
    bytes[72] = 0xf0;
    bytes[120..].fill(b'x');
    let (client, server) = (common::CLIENT, common::SERVER);
    TcpPacket::new_unchecked(&mut bytes[60..]).fill_checksum(client, server);
    Ipv4Packet::new_unchecked(&mut bytes[..]).fill_checksum();

    let outcome = handle(&bytes);
    assert_eq!(
        outcome,
        Outcome::Parsed(ChecksumStatus::Correct, Verdict::FromPeer)
    );
    let line = parse_received(&bytes).expect("well-formed").summary();
    assert_eq!(
        line,
        "TCP 127.0.0.2:50001 > 127.0.0.1:50000 [P.] seq 1:65416 ack 1 win 65535 \
         len 65415"
    );
    // One byte short of what total length claims.
    assert_eq!(
        handle(&bytes[..MAX_PACKET - 1]),
        Outcome::Rejected(ParseError::TotalLenPastEnd {
            total_len: 65535,
            len: 65534
        })
    );
}

#[test]
fn one_hundred_thousand_mutants_are_handled_without_a_panic() {
    let tally = mutator::run(SEED, MUTANTS);
    eprintln!("{}", tally.report());
    assert!(tally.runs >= MUTANTS, "{}", tally.runs);
    assert_outcomes_are_varied(&tally);
}

/// Both outcomes in healthy proportions, each rejection reason and each
/// checksum state at least 100 times, and both kinds of address.
fn assert_outcomes_are_varied(tally: &Tally) {
    let report = tally.report();
    let share = |n: u64| n as f64 / tally.runs as f64;
    assert!(share(tally.parsed()) > 0.2, "too few parsed:\n{report}");
    assert!(share(tally.rejected()) > 0.2, "too few rejected:\n{report}");

    // Every variant of ParseError that `parse_received` can return, by the
    // name `ParseError::reason` gives it. (It never verifies a checksum, and
    // no IPv4 packet carries a segment too long for one: `tests/wire.rs`
    // shows those two.)
    let every_reason = [
        ParseError::Truncated {
            layer: "",
            required: 0,
            len: 0,
        },
        ParseError::BadVersion(0),
        ParseError::BadIhl(0),
        ParseError::BadTotalLen {
            total_len: 0,
            header_len: 0,
        },
        ParseError::TotalLenPastEnd {
            total_len: 0,
            len: 0,
        },
        ParseError::NotTcp(0),
        ParseError::BadDataOffset(0),
        ParseError::DataOffsetPastEnd {
            header_len: 0,
            len: 0,
        },
        ParseError::Fragment {
            more_fragments: false,
            offset: 0,
        },
        ParseError::ZeroPort { which: "" },
    ]
    .map(|error| error.reason());
    for reason in every_reason {
        let n = rejected_for(tally, reason);
        assert!(n >= 100, "{reason}: only {n}\n{report}");
    }
    // Each of the three places a buffer can be cut short.
    for layer in ["IPv4 header", "IPv4 header with options", "TCP header"] {
        let n = tally.rejections[&format!("truncated: {layer}")];
        assert!(n >= 100, "truncated {layer}: only {n}\n{report}");
    }
    for status in ["correct", "partial", "wrong"] {
        let n = tally.checksums.get(status).copied().unwrap_or(0);
        assert!(n >= 100, "checksum {status}: only {n}\n{report}");
    }
    for verdict in [Verdict::FromPeer, Verdict::Foreign] {
        let n = tally.verdicts.get(&verdict).copied().unwrap_or(0);
        assert!(n >= 100, "{verdict:?}: only {n}\n{report}");
    }
}

/// Buffers rejected for `reason` (for `truncated`, every layer together).
fn rejected_for(tally: &Tally, reason: &str) -> u64 {
    tally
        .rejections
        .iter()
        .filter(|(key, _)| key.split(':').next() == Some(reason))
        .map(|(_, count)| count)
        .sum()
}
