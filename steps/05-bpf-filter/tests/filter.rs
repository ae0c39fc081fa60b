//! The echo's filter without privileges: its listing, and its decisions on
//! every packet of the cast, computed by the interpreter (`run`), which
//! follows the kernel's rules. `tests/kernel.rs` shows that the kernel
//! decides the same; `tests/live.rs` shows it on real raw sockets.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};

use common::{Sample, data, read, rst, samples, table, with_ip_options};
use step_01_socket::{TcpFlags, parse_received};
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER, Verdict, classify};
use step_05_bpf_filter::{
    ACCEPT, Assembler, Insn, NEXT, REJECT, annotate, check, echo_filter, explain,
    run,
};

#[test]
fn the_echo_filter_annotated() {
    let program = echo_filter(SERVER, CLIENT);
    assert_eq!(check(&program), Ok(()));
    insta::assert_snapshot!(annotate(&program));
}

#[test]
fn every_jump_lands_inside_the_program_on_a_later_instruction() {
    let program = echo_filter(SERVER, CLIENT);
    assert_eq!(program.len(), 20);
    for (at, insn) in program.iter().enumerate().filter(|(_, i)| i.is_jump()) {
        for skip in [insn.jt, insn.jf] {
            let target = at + 1 + usize::from(skip);
            assert!(target < program.len(), "({at:03}) jumps outside");
        }
    }
    // Two ways out, at the end: accept, then reject.
    assert_eq!(program[18], Insn::ret(ACCEPT));
    assert_eq!(program[19], Insn::ret(REJECT));
    assert_eq!(program.iter().filter(|i| i.is_return()).count(), 2);
}

#[test]
fn the_two_ends_filters_differ_only_in_their_constants() {
    let server = echo_filter(SERVER, CLIENT);
    let client = echo_filter(CLIENT, SERVER);
    let differ: Vec<usize> = (0..server.len())
        .filter(|&at| server[at] != client[at])
        .collect();
    // The two addresses and the two ports swap places; nothing else moves.
    assert_eq!(differ, [8, 10, 13, 15]);
    for at in differ {
        assert_eq!(
            (server[at].code, server[at].jt, server[at].jf),
            (client[at].code, client[at].jt, client[at].jf)
        );
    }
}

#[test]
fn decisions_on_the_demos_two_addresses() {
    let server = echo_filter(SERVER, CLIENT);
    let client = echo_filter(CLIENT, SERVER);
    let table = table(
        &samples(),
        &[("server's filter", &server), ("client's filter", &client)],
    );
    insta::assert_snapshot!(table);
}

/// The tutorial's two terminals: one address for both ends. `bind()` and
/// `connect()` then let every segment between the two through, our own
/// included; only the ports and the RST flag tell them apart.
#[test]
fn decisions_on_one_address_for_both_ends() {
    let at = |port| SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let (server_end, client_end) = (at(50000), at(50001));
    let cast = [
        ("the request", data(client_end, server_end, 1, 1, REQUEST)),
        ("the reply", data(server_end, client_end, 1, 13, REPLY)),
        (
            "the kernel's RST to the request",
            rst(server_end, client_end, 1),
        ),
        (
            "the kernel's RST to the reply",
            rst(client_end, server_end, 13),
        ),
    ]
    .map(|(name, bytes)| Sample {
        name: name.to_owned(),
        bytes,
    });
    let server = echo_filter(server_end, client_end);
    let client = echo_filter(client_end, server_end);
    insta::assert_snapshot!(table(
        &cast,
        &[("server's filter", &server), ("client's filter", &client)],
    ));
}

/// Every combination of three addresses, three ports each way, five flag
/// sets, with and without IP options: the filter accepts exactly what step 2's
/// `classify` calls `FromPeer`, the test the echo's machines run in user
/// space.
#[test]
fn the_filter_accepts_exactly_what_classify_calls_from_peer() {
    let addrs = [*SERVER.ip(), *CLIENT.ip(), Ipv4Addr::new(127, 0, 0, 3)];
    let ports = [50000, 50001, 40000];
    let flags = [
        TcpFlags::PSH | TcpFlags::ACK,
        TcpFlags::ACK,
        TcpFlags::RST,
        TcpFlags::RST | TcpFlags::ACK,
        TcpFlags::SYN,
    ];
    let (mut checked, mut accepted) = (0, 0);
    for (me, peer) in [(SERVER, CLIENT), (CLIENT, SERVER)] {
        let program = echo_filter(me, peer);
        for src_addr in addrs {
            for dst_addr in addrs {
                for src_port in ports {
                    for dst_port in ports {
                        let src = SocketAddrV4::new(src_addr, src_port);
                        let dst = SocketAddrV4::new(dst_addr, dst_port);
                        for flags in flags {
                            let plain = read(src, dst, 7, 7, flags, b"x");
                            for bytes in [with_ip_options(&plain), plain] {
                                let packet = parse_received(&bytes).unwrap();
                                let wanted =
                                    classify(&packet, me, peer) == Verdict::FromPeer;
                                let verdict = run(&program, &bytes);
                                assert_eq!(
                                    verdict != 0,
                                    wanted,
                                    "{}: {}",
                                    packet.summary(),
                                    explain(&program, &bytes)
                                );
                                checked += 1;
                                accepted += usize::from(verdict != 0);
                            }
                        }
                    }
                }
            }
        }
    }
    // Both ends, two shapes each (IHL 5 and 6), four non-RST flag sets.
    assert_eq!((checked, accepted), (2 * 3 * 3 * 3 * 3 * 5 * 2, 2 * 2 * 3));
}

/// Step 1's `parse_received` and the filter refuse the same fragments: the
/// peer's request with every combination of the DF and MF flags and a few
/// offsets (the first, the last, one of each bit), with and without IP
/// options, is accepted by the filter exactly when it parses. Both test the
/// bits of `ipv4::FRAGMENT_MASK`; DF is not among them.
#[test]
fn the_filter_and_parse_received_agree_on_fragments() {
    use step_01_socket::ParseError;
    use step_01_socket::ipv4::{FLAG_DF, FLAG_MF, FRAG_OFFSET_MASK, FRAGMENT_MASK};
    let program = echo_filter(SERVER, CLIENT);
    let request = data(CLIENT, SERVER, 1, 1, REQUEST);
    let offsets = (0..13).map(|bit| 1u16 << bit).chain([0, FRAG_OFFSET_MASK]);
    let (mut whole, mut pieces) = (0, 0);
    for offset in offsets {
        for flags in [0, FLAG_DF, FLAG_MF, FLAG_DF | FLAG_MF] {
            let flags_frag = flags | offset;
            let plain = common::edited(&request, |ip| ip.set_flags_frag(flags_frag));
            for bytes in [with_ip_options(&plain), plain] {
                let parsed = parse_received(&bytes);
                let accepted = run(&program, &bytes) != REJECT;
                assert_eq!(
                    accepted,
                    parsed.is_ok(),
                    "0x{flags_frag:04x}: {parsed:?}"
                );
                let fragment = flags_frag & FRAGMENT_MASK != 0;
                if fragment {
                    assert!(matches!(parsed, Err(ParseError::Fragment { .. })));
                    pieces += 1;
                } else {
                    whole += 1;
                }
            }
        }
    }
    // Offset 0 with DF or nothing, twice each: the only whole packets.
    assert_eq!((whole, pieces), (4, 15 * 4 * 2 - 4));
}

/// A filter that reads the ports at fixed offsets 20 and 22 (as if the IPv4
/// header were always 20 bytes) reads IP option bytes as ports when there
/// are options. The echo filter reads them at X + 0 and X + 2, X = IHL * 4.
#[test]
fn fixed_offsets_misread_a_header_with_options() {
    let mut asm = Assembler::new();
    let reject = asm.label();
    asm.push(Insn::ldh(20));
    asm.jeq(u32::from(CLIENT.port()), NEXT, reject);
    asm.push(Insn::ldh(22));
    asm.jeq(u32::from(SERVER.port()), NEXT, reject);
    asm.push(Insn::ret(ACCEPT));
    asm.bind(reject);
    asm.push(Insn::ret(REJECT));
    let fixed = asm.finish().unwrap();

    let plain = common::request();
    let options = with_ip_options(&plain);
    assert_eq!(run(&fixed, &plain), ACCEPT);
    assert_eq!(run(&fixed, &options), REJECT);
    // It read the option bytes 01 01 (two NOPs) as the source port: 257.
    assert_eq!(
        explain(&fixed, &options),
        "reject  (001) 2 bytes at 20 == 50001 (0xc351)? no"
    );
    let echo = echo_filter(SERVER, CLIENT);
    assert_eq!(run(&echo, &plain), ACCEPT);
    assert_eq!(run(&echo, &options), ACCEPT);
}

#[test]
fn a_cut_packet_is_rejected_where_the_first_load_falls_off() {
    let program = echo_filter(SERVER, CLIENT);
    let request = common::request();
    for len in 0..request.len() {
        let verdict = run(&program, &request[..len]);
        // The last byte the program reads is the TCP flags byte, at 20 + 13.
        let wanted = if len > 33 { ACCEPT } else { REJECT };
        assert_eq!(verdict, wanted, "cut to {len} bytes");
    }
}
