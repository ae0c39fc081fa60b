//! Fuzzes the one entry point from untrusted bytes, `parse_received`, and
//! everything a program does with what it returns.
//!
//! Each input is the bytes of one read from a raw socket. It goes through
//! `mutator::handle` (the checks of `tests/mutations.rs`: parse, annotated
//! dump, summary line, checksum state, both `Repr`s, the address check, an
//! echo reply built and parsed back, and that their answers agree), then
//! through step 2's real `classify`, which must agree with the copy the
//! step-1 tests use. Any panic is a bug; libFuzzer saves its input under
//! `fuzz/artifacts/parse_received/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use step_01_socket::packet::checksum_status;
use step_01_socket::{
    ChecksumCheck, TcpPacket, TcpRepr, annotate_segment, parse_received,
};
use step_02_bind_connect::{CLIENT, SERVER, Verdict, classify};

// The fixed cast and the checks of step 1's mutation test, shared rather than
// copied. The mutation half of the engine is unused here: libFuzzer mutates.
// (`common` allows dead code itself.)
#[path = "../../steps/01-socket/tests/common/mod.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../steps/01-socket/tests/mutator/mod.rs"]
mod mutator;

fuzz_target!(|bytes: &[u8]| {
    // Everything a program does with the bytes of one read.
    if let mutator::Outcome::Parsed(_, verdict) = mutator::handle(bytes) {
        let packet = parse_received(bytes).expect("parsed once, parses again");
        // Step 2's classify, from the server's side and from the client's.
        let expected = match verdict {
            mutator::Verdict::FromPeer => Verdict::FromPeer,
            mutator::Verdict::Reset => Verdict::KernelReset,
            mutator::Verdict::OwnCopy => Verdict::OwnCopy,
            mutator::Verdict::Foreign => Verdict::Foreign,
        };
        assert_eq!(classify(&packet, SERVER, CLIENT), expected);
        let _ = classify(&packet, CLIENT, SERVER);
    }
    // The same bytes taken as a bare TCP segment, as step 2 annotates the
    // segments it writes.
    let (src, dst) = (*CLIENT.ip(), *SERVER.ip());
    if let Ok(view) = TcpPacket::new_checked(bytes) {
        let _ = checksum_status(src, dst, &view);
        for check in [ChecksumCheck::Verify, ChecksumCheck::Ignore] {
            let _ = TcpRepr::parse(&view, src, dst, check);
        }
    }
    let _ = annotate_segment(src, dst, bytes);
});
