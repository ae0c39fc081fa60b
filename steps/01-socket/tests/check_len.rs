//! `check_len` is the views' whole contract with untrusted bytes: once it
//! succeeds, no accessor can panic. These tests hold it to that, both ways:
//! every accessor runs on every buffer it lets through, and every buffer it
//! refuses makes some accessor of an unchecked view panic, so it refuses
//! nothing it need not. Exhaustive over the length fields of short buffers,
//! then seeded random buffers of any content.

mod common;

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use common::{CLIENT, Rng, SERVER};
use step_01_socket::ipv4::{self, Ipv4Packet, Ipv4Repr};
use step_01_socket::packet::checksum_status;
use step_01_socket::tcp::{self, TcpPacket};
use step_01_socket::{ChecksumCheck, TcpRepr};

/// Every accessor of an IPv4 view, and what is computed from them.
fn every_ipv4_accessor(ip: &Ipv4Packet<&[u8]>) {
    let _ = (ip.version(), ip.ihl(), ip.header_len(), ip.dscp_ecn());
    let _ = (ip.total_len(), ip.ident(), ip.flags_frag(), ip.dont_frag());
    let _ = (
        ip.more_frags(),
        ip.frag_offset(),
        ip.is_fragment(),
        ip.ttl(),
    );
    let _ = (ip.protocol(), ip.checksum(), ip.src_addr(), ip.dst_addr());
    let _ = (ip.verify_checksum(), ip.expected_checksum());
    let _ = (ip.options(), ip.payload());
    for check in [ChecksumCheck::Verify, ChecksumCheck::Ignore] {
        let _ = Ipv4Repr::parse(ip, check);
    }
}

/// Every accessor of a TCP view, and what is computed from them.
fn every_tcp_accessor(tcp: &TcpPacket<&[u8]>) {
    let (a, b) = (CLIENT, SERVER);
    let _ = (tcp.src_port(), tcp.dst_port(), tcp.seq_number());
    let _ = (tcp.ack_number(), tcp.data_offset(), tcp.header_len());
    let _ = (tcp.flags(), tcp.window(), tcp.checksum(), tcp.urgent());
    let _ = (tcp.options(), tcp.payload(), tcp.verify_checksum(a, b));
    let _ = (tcp.partial_checksum(a, b), tcp.expected_checksum(a, b));
    let _ = checksum_status(a, b, tcp);
    for check in [ChecksumCheck::Verify, ChecksumCheck::Ignore] {
        let _ = TcpRepr::parse(tcp, a, b, check);
    }
}

thread_local! {
    /// Whether a panic on this thread is expected, and so not printed.
    static EXPECTED: Cell<bool> = const { Cell::new(false) };
}

/// Whether `f` panics. The panic message is kept off the output; a panic
/// anywhere else (a failing assertion) is still printed as usual.
fn panics(f: impl FnOnce()) -> bool {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTED.with(Cell::get) {
                default(info);
            }
        }));
    });
    EXPECTED.with(|expected| expected.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTED.with(|expected| expected.set(false));
    result.is_err()
}

/// The contract on `bytes` taken as an IPv4 packet: if `check_len` passes,
/// every accessor runs (a panic fails the test); if it fails, one of them on
/// an unchecked view panics. Returns whether it passed, and on a pass checks
/// the TCP view over its payload the same way, as `parse_received` would.
fn ipv4_contract(bytes: &[u8]) -> bool {
    let view = Ipv4Packet::new_unchecked(bytes);
    match view.check_len() {
        Ok(()) => {
            every_ipv4_accessor(&view);
            tcp_contract(view.payload());
            true
        }
        Err(error) => {
            assert!(
                panics(|| every_ipv4_accessor(&view)),
                "check_len refused {bytes:02x?} ({error}), yet nothing panics"
            );
            false
        }
    }
}

/// The same contract for `bytes` taken as a TCP segment.
fn tcp_contract(bytes: &[u8]) -> bool {
    let view = TcpPacket::new_unchecked(bytes);
    match view.check_len() {
        Ok(()) => {
            every_tcp_accessor(&view);
            true
        }
        Err(error) => {
            assert!(
                panics(|| every_tcp_accessor(&view)),
                "check_len refused {} bytes ({error}), yet nothing panics",
                bytes.len()
            );
            false
        }
    }
}

#[test]
fn ipv4_check_len_is_exact_for_every_length_field_of_short_buffers() {
    let mut rng = Rng::new(0x5eed_c4ec);
    let (mut passed, mut refused) = (0, 0);
    // Every buffer length up to 72 bytes, every IHL, every total length from
    // 0 to just past the bytes there (and the largest); the rest garbage.
    for len in 0..=72usize {
        for ihl in 0..16u8 {
            for total_len in (0..=len as u16 + 2).chain([u16::MAX]) {
                let mut bytes = rng.bytes(len);
                if let Some(first) = bytes.first_mut() {
                    *first = (*first & ipv4::VERSION_MASK) | ihl;
                }
                if let Some(field) = bytes.get_mut(ipv4::field::TOTAL_LEN) {
                    field.copy_from_slice(&total_len.to_be_bytes());
                }
                if ipv4_contract(&bytes) {
                    passed += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    assert!(
        passed > 5_000 && refused > 5_000,
        "{passed} passed, {refused} refused"
    );
}

#[test]
fn tcp_check_len_is_exact_for_every_data_offset_of_short_buffers() {
    let mut rng = Rng::new(0x5eed_7c9e);
    let (mut passed, mut refused) = (0, 0);
    // Every length up to 72 bytes and every data offset, four fillings each,
    // then the lengths around the largest a checksum can cover.
    let lengths = (0..=72).chain([65_535, 65_536]);
    for len in lengths {
        for offset in 0..16u8 {
            for _ in 0..4 {
                let mut bytes = rng.bytes(len);
                if let Some(byte) = bytes.get_mut(tcp::field::DATA_OFF) {
                    *byte = (*byte & !tcp::DATA_OFFSET_MASK) | offset << 4;
                }
                if tcp_contract(&bytes) {
                    passed += 1;
                } else {
                    refused += 1;
                }
            }
        }
    }
    assert!(
        passed > 1_000 && refused > 1_000,
        "{passed} passed, {refused} refused"
    );
}

#[test]
fn check_len_is_exact_for_random_buffers() {
    let mut rng = Rng::new(0x5eed_a11c);
    let (mut passed, mut refused) = (0, 0);
    for _ in 0..20_000 {
        let len = rng.below(121);
        let mut bytes = rng.bytes(len);
        // Half of them with length fields that could be right: an IHL of 5
        // or more, a total length within the bytes, a data offset of 5 or
        // more where the TCP header starts.
        if rng.below(2) == 0 && len >= 20 {
            let ihl = 5 + rng.below(11) as u8;
            bytes[0] = (bytes[0] & ipv4::VERSION_MASK) | ihl;
            let total = rng.below(len + 1) as u16;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            if let Some(byte) = bytes.get_mut(usize::from(ihl) * 4 + 12) {
                *byte = (5 + rng.below(11) as u8) << 4;
            }
        }
        if ipv4_contract(&bytes) {
            passed += 1;
        } else {
            refused += 1;
        }
        // The same bytes taken as a bare segment, as a program writes one.
        tcp_contract(&bytes);
    }
    assert!(
        passed > 2_000 && refused > 2_000,
        "{passed} passed, {refused} refused"
    );
}

#[test]
fn the_accessors_of_an_unchecked_view_do_panic() {
    // What check_len protects against: a view over 19 bytes has no
    // destination address, one whose IHL says 15 has no 60-byte header.
    let short = [0x45u8; 19];
    assert!(panics(|| {
        let _ = Ipv4Packet::new_unchecked(&short[..]).dst_addr();
    }));
    let mut ihl_15 = [0u8; 40];
    ihl_15[0] = 0x4f;
    assert!(panics(|| {
        let _ = Ipv4Packet::new_unchecked(&ihl_15[..]).options();
    }));
    assert_eq!(
        Ipv4Packet::new_checked(&ihl_15[..]).unwrap_err().reason(),
        "truncated"
    );
}
