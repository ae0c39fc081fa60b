//! The kernel's own decisions, with no privileges and no network at all.
//!
//! A socket filter works on any socket. On a Unix datagram socket the
//! program sees each datagram's bytes from offset 0, exactly as a raw IPv4
//! socket's program sees a packet from its IPv4 header. So writing the cast's
//! packets as datagrams to a socket pair, with the filter on the receiving
//! end, asks the kernel itself what it decides. A rejected datagram is
//! dropped silently: the write succeeds, and nothing arrives.

mod common;

use std::os::fd::{AsRawFd, OwnedFd};

use common::{request, samples};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockType, recv, send, socketpair,
};
use step_02_bind_connect::{CLIENT, SERVER};
use step_05_bpf_filter::{
    ACCEPT, Insn, ProgramError, REJECT, attach, attached, check, detach,
    drain_queued, echo_filter, explain, lock_filter, program::MAX_INSNS, run,
};

/// A connected pair of Unix datagram sockets: (sender, receiver).
fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::Datagram,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair(AF_UNIX, SOCK_DGRAM)")
}

fn write(sender: &OwnedFd, bytes: &[u8]) {
    let sent = send(sender.as_raw_fd(), bytes, MsgFlags::empty()).expect("send");
    assert_eq!(sent, bytes.len(), "a datagram goes whole or not at all");
}

/// The next datagram queued on `receiver`, or `None` if there is none.
fn read(receiver: &OwnedFd) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    match recv(receiver.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
        Ok(len) => Some(buf[..len].to_vec()),
        Err(Errno::EAGAIN) => None,
        Err(error) => panic!("recv: {error}"),
    }
}

/// What the kernel delivers of `bytes` through `program`: all of them, a
/// part, or nothing.
fn kernel_keeps(program: &[Insn], bytes: &[u8]) -> Option<Vec<u8>> {
    let (sender, receiver) = pair();
    attach(&receiver, program).expect("attach");
    write(&sender, bytes);
    read(&receiver)
}

#[test]
fn the_kernel_decides_as_the_interpreter_on_every_sample() {
    let filters = [echo_filter(SERVER, CLIENT), echo_filter(CLIENT, SERVER)];
    let mut accepted = 0;
    for sample in samples() {
        for program in &filters {
            let ours = run(program, &sample.bytes);
            let kernels = kernel_keeps(program, &sample.bytes);
            let why = explain(program, &sample.bytes);
            match kernels {
                // ret #65535 keeps every byte.
                Some(bytes) => {
                    assert_eq!(ours, ACCEPT, "{}: {why}", sample.name);
                    assert_eq!(bytes, sample.bytes, "{}", sample.name);
                    accepted += 1;
                }
                None => assert_eq!(ours, 0, "{}: {why}", sample.name),
            }
        }
    }
    // The request (plain and with options), the ACK and the reply.
    assert_eq!(accepted, 4);
}

#[test]
fn the_kernel_cuts_an_accepted_packet_to_the_returned_length() {
    let headers_only = [Insn::ret(40)];
    let packet = request();
    assert_eq!(packet.len(), 52);
    assert_eq!(
        kernel_keeps(&headers_only, &packet).as_deref(),
        Some(&packet[..40])
    );
    assert_eq!(run(&headers_only, &packet), 40);
}

/// The kernel's own rules, which `check` applies too: these five programs
/// are refused by both. (Not the converse: see the `tax` case below.) The
/// last is longer than the 16-bit length field can say; the kernel still
/// answers for it (EINVAL to 65535 instructions), not `attach`.
#[test]
fn the_kernel_refuses_these_bad_programs_as_check_does() {
    let ret = Insn::ret(0);
    let bad: [(&str, Vec<Insn>); 5] = [
        ("empty", vec![]),
        ("a jump past the end", vec![Insn::jeq(6, 1, 2), ret, ret]),
        ("no final ret", vec![Insn::ldb(9)]),
        ("too long", vec![ret; MAX_INSNS + 1]),
        ("too long for the length field", vec![ret; 70_000]),
    ];
    let (_, receiver) = pair();
    for (name, program) in bad {
        assert!(check(&program).is_err(), "{name}: check passed it");
        let error = attach(&receiver, &program).expect_err(name);
        assert_eq!(error.errno, Errno::EINVAL, "{name}");
        assert!(error.call.starts_with("setsockopt(SO_ATTACH_FILTER"));
    }
    assert_eq!(
        check(&[Insn::ldb(9)]),
        Err(ProgramError::NoFinalReturn { at: 0 })
    );
    // These two pass check, and the kernel takes them.
    attach(&receiver, &[Insn::jeq(6, 1, 0), ret, ret]).expect("a valid program");
    attach(&receiver, &vec![ret; MAX_INSNS]).expect("the longest program");
    // check is stricter than the kernel: `tax` (X = A) is valid classic BPF,
    // but not an opcode this crate runs, so check refuses what the kernel takes.
    let tax = Insn {
        code: 0x07,
        jt: 0,
        jf: 0,
        k: 0,
    };
    assert_eq!(
        check(&[tax, ret]),
        Err(ProgramError::UnknownOpcode { at: 0, code: 0x07 })
    );
    attach(&receiver, &[tax, ret]).expect("the kernel knows tax");
}

#[test]
fn the_kernel_holds_the_program_as_attached() {
    let (_, receiver) = pair();
    assert_eq!(attached(&receiver).expect("SO_GET_FILTER"), []);
    let program = echo_filter(SERVER, CLIENT);
    attach(&receiver, &program).expect("attach");
    assert_eq!(attached(&receiver).expect("SO_GET_FILTER"), program);
}

#[test]
fn a_locked_filter_can_be_neither_replaced_nor_removed() {
    let (sender, receiver) = pair();
    let program = echo_filter(SERVER, CLIENT);
    attach(&receiver, &program).expect("attach");
    // Unlocked, a filter can be swapped and removed.
    attach(&receiver, &[Insn::ret(ACCEPT)]).expect("replace");
    detach(&receiver).expect("detach");
    assert_eq!(
        detach(&receiver).expect_err("nothing left").errno,
        Errno::ENOENT
    );
    attach(&receiver, &program).expect("attach again");
    lock_filter(&receiver).expect("SO_LOCK_FILTER");
    let replace = attach(&receiver, &[Insn::ret(ACCEPT)]).expect_err("locked");
    assert_eq!(replace.errno, Errno::EPERM);
    assert_eq!(detach(&receiver).expect_err("locked").errno, Errno::EPERM);
    assert_eq!(attached(&receiver).expect("SO_GET_FILTER"), program);
    // Still the echo filter at work: a RST does not get through.
    write(&sender, &common::rst(CLIENT, SERVER, 13));
    write(&sender, &request());
    assert_eq!(read(&receiver), Some(request()));
    assert_eq!(read(&receiver), None);
}

#[test]
fn a_filter_applies_only_to_what_arrives_after_it() {
    let (sender, receiver) = pair();
    let kernel_rst = common::rst(CLIENT, SERVER, 13);
    // Queued while no filter is attached...
    write(&sender, &kernel_rst);
    attach(&receiver, &echo_filter(SERVER, CLIENT)).expect("attach");
    // ...and still there, unfiltered, after the filter is attached.
    write(&sender, &kernel_rst);
    assert_eq!(read(&receiver), Some(kernel_rst.clone()));
    assert_eq!(read(&receiver), None, "the second RST was filtered");

    // The remedy: reject everything, drain, then attach the real program.
    let (sender, receiver) = pair();
    write(&sender, &kernel_rst);
    write(&sender, &request());
    attach(&receiver, &[Insn::ret(REJECT)]).expect("attach reject-all");
    assert_eq!(drain_queued(&receiver).expect("drain"), 2);
    attach(&receiver, &echo_filter(SERVER, CLIENT)).expect("attach");
    write(&sender, &kernel_rst);
    write(&sender, &request());
    assert_eq!(read(&receiver), Some(request()));
    assert_eq!(read(&receiver), None);
}

/// Why the drain comes before the real program, under one that rejects
/// everything: a segment that passes the real program and arrives before the
/// drain is otherwise drained with the stale ones, and counted with them.
#[test]
fn the_peers_segment_sent_right_after_setup_is_read_not_drained() {
    let kernel_rst = common::rst(CLIENT, SERVER, 13);
    let echo = echo_filter(SERVER, CLIENT);

    // The wrong order: the real program, then the drain. The request lands
    // in between, passes the program, and is thrown away as if stale.
    let (sender, receiver) = pair();
    write(&sender, &kernel_rst);
    attach(&receiver, &echo).expect("attach");
    write(&sender, &request());
    assert_eq!(
        drain_queued(&receiver).expect("drain"),
        2,
        "request drained"
    );
    assert_eq!(read(&receiver), None, "the request is lost");

    // libpcap's order: reject everything, drain, then the real program.
    // What arrives under the reject-all program is dropped by the kernel,
    // not counted; the count is what came before any filter.
    let (sender, receiver) = pair();
    write(&sender, &kernel_rst);
    attach(&receiver, &[Insn::ret(REJECT)]).expect("attach reject-all");
    write(&sender, &kernel_rst);
    assert_eq!(drain_queued(&receiver).expect("drain"), 1);
    attach(&receiver, &echo).expect("attach");
    // The peer's request, right after setup: read, not drained.
    write(&sender, &request());
    assert_eq!(read(&receiver), Some(request()));
    assert_eq!(read(&receiver), None);
}
