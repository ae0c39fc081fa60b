//! The checks of the exercises in `src/exercises/`: snapshots of what each
//! exercise's function answers for a fixed set of segments.
//!
//! The committed snapshots are the reference solutions' output. With the
//! starters the tests are ignored (so `cargo test --workspace` passes); run
//! one with `--ignored` to see whether your version matches:
//!
//! ```text
//! cargo test -p step-06-handshake --test exercises exercise_final_ack -- --ignored
//! ```

use std::fmt::Write as _;

use step_01_socket::{SeqNumber, TcpFlags};
use step_02_bind_connect::{CLIENT, SERVER};
use step_06_handshake::Segment;
use step_06_handshake::exercises::final_ack::{ack_for, acknowledge};
use step_06_handshake::exercises::rst_in_syn_sent::on_rst;
use step_06_handshake::exercises::sendable::sendable;
use step_06_handshake::options::TcpOption;
use testkit::annotated;

/// Our ISN, and the peer's.
const ISS: SeqNumber = SeqNumber(1000);
const PEER: SeqNumber = SeqNumber(5000);

/// A segment from the server (the peer) to our client.
fn from_server(
    seq: SeqNumber,
    ack: Option<SeqNumber>,
    flags: TcpFlags,
    payload: &[u8],
) -> Segment {
    let mut segment = Segment::new(SERVER, CLIENT, seq, ack, flags, 65535);
    segment.payload = payload.to_vec();
    segment
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-06-handshake --test exercises exercise_final_ack -- --ignored"
)]
fn exercise_final_ack() {
    let mut syn_ack = from_server(PEER, Some(ISS + 1), TcpFlags::SYN, b"");
    syn_ack.options = vec![TcpOption::Mss(65495)];
    let cases = [
        ("the handshake's SYN-ACK", syn_ack, ISS + 1),
        (
            "the reply",
            from_server(PEER + 1, Some(ISS + 13), TcpFlags::PSH, b"Hello client"),
            ISS + 13,
        ),
        (
            "the peer's FIN",
            from_server(PEER + 13, Some(ISS + 14), TcpFlags::FIN, b""),
            ISS + 14,
        ),
        (
            "data and FIN at once",
            from_server(
                PEER + 1,
                Some(ISS + 13),
                TcpFlags::FIN | TcpFlags::PSH,
                b"bye",
            ),
            ISS + 13,
        ),
    ];
    let mut log = String::new();
    for (what, segment, our_seq) in &cases {
        let ack = acknowledge(segment, *our_seq);
        assert_eq!(ack.ack, Some(ack_for(segment)));
        let line = segment.line(None, None);
        let _ = writeln!(log, "{what}: {line}\nour ACK: {}", ack.line(None, None));
    }
    // The very last ACK of a connection, byte by byte.
    let (_, fin, our_seq) = &cases[2];
    let _ = write!(log, "\nthe ACK of the peer's FIN, as written:\n");
    log += &annotated(CLIENT, SERVER, &acknowledge(fin, *our_seq).to_bytes());
    insta::assert_snapshot!("final_ack", log);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-06-handshake --test exercises exercise_rst_in_syn_sent -- --ignored"
)]
fn exercise_rst_in_syn_sent() {
    // The kernel's RSTs announce a zero window.
    let rst = |ack: Option<u32>| {
        let mut rst =
            from_server(SeqNumber(0), ack.map(SeqNumber), TcpFlags::RST, b"");
        rst.window = 0;
        rst
    };
    // (our ISS, the RST), the ISS 1 below 2^32 last: ISS + 1 is 0.
    let cases = [
        (ISS, rst(Some(1001))),
        (ISS, rst(None)),
        (ISS, rst(Some(1000))),
        (ISS, rst(Some(1002))),
        (ISS, rst(Some(7))),
        (SeqNumber(u32::MAX), rst(Some(0))),
        (SeqNumber(u32::MAX), rst(Some(u32::MAX))),
    ];
    let mut log = String::new();
    for (iss, segment) in &cases {
        let _ = writeln!(
            log,
            "ISS {iss}, {}\n  -> {}",
            segment.line(None, None),
            on_rst(*iss, segment)
        );
    }
    insta::assert_snapshot!("rst_in_syn_sent", log);
}

#[test]
#[cfg_attr(
    not(feature = "solutions"),
    ignore = "exercise: cargo test -p step-06-handshake --test exercises exercise_sendable -- --ignored"
)]
fn exercise_sendable() {
    let top = u32::MAX;
    // (SND.UNA, SND.NXT, window, MSS, unsent bytes)
    let cases = [
        (1000, 1000, 65535, 1460, 12),
        (1000, 1000, 65535, 1460, 4000),
        (1000, 1000, 5, 1460, 12),
        (1000, 1003, 5, 1460, 12),
        (1000, 1005, 5, 1460, 12),
        (1000, 1000, 0, 1460, 12),
        (top - 2, 1, 10, 1460, 4000),
        (top - 2, 7, 10, 1460, 4000),
    ];
    let mut log = String::new();
    for (una, nxt, window, mss, unsent) in cases {
        let n = sendable(SeqNumber(una), SeqNumber(nxt), window, mss, unsent);
        let _ = writeln!(
            log,
            "SND.UNA {una} SND.NXT {nxt} window {window} MSS {mss} unsent {unsent} -> {n}"
        );
    }
    insta::assert_snapshot!("sendable", log);
}
