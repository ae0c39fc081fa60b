//! Exercise `syn_only`: a filter for a listener, which wants only connection
//! requests.
//!
//! A program that waits for new TCP connections to `me` (a port scanner's
//! target, a SYN counter, the first half of a handshake done by hand) cares
//! about one kind of segment: the SYN that opens a connection. That is a
//! segment with SYN set and ACK clear (the answer, SYN-ACK, has both), from
//! any address and port, to `me`'s address and port. The filter must keep:
//! - IPv4, TCP, no fragment, to `me`'s address and port (as below), and
//! - SYN set, ACK clear;
//!
//! and reject everything else: SYN-ACKs, ACKs, data, RSTs, FINs, SYNs to
//! other ports or addresses.
//!
//! The reference solution: two `jset` tests on the flags byte, one that must
//! be true (SYN), one that must be false (ACK). Checked by:
//!
//! ```text
//! cargo test -p step-05-bpf-filter --features solutions --test exercises
//! ```

use std::net::SocketAddrV4;

use step_01_socket::checksum::PROTO_TCP;
use step_01_socket::{TcpFlags, ipv4, tcp};

use crate::filter::at;
use crate::{ACCEPT, Assembler, FRAGMENT, Insn, NEXT, ProgramError, REJECT};

/// The filter for a listener at `me`: connection requests only.
pub fn syn_filter(me: SocketAddrV4) -> Result<Vec<Insn>, ProgramError> {
    use ipv4::field::{DST_ADDR, FLAGS_FRAG, PROTOCOL, VER_IHL};
    use tcp::field::{DST_PORT, FLAGS};

    let mut asm = Assembler::new();
    let reject = asm.label();

    asm.push(Insn::ldb(at(VER_IHL)));
    asm.push(Insn::and(0xf0));
    asm.jeq(0x40, NEXT, reject);
    asm.push(Insn::ldb(at(PROTOCOL)));
    asm.jeq(PROTO_TCP.into(), NEXT, reject);
    asm.push(Insn::ldh(at(FLAGS_FRAG.start)));
    asm.jset(FRAGMENT, reject, NEXT);
    asm.push(Insn::ld(at(DST_ADDR.start)));
    asm.jeq(u32::from(*me.ip()), NEXT, reject);

    asm.push(Insn::ldxb_msh(at(VER_IHL)));
    asm.push(Insn::ldh_x(at(DST_PORT.start)));
    asm.jeq(me.port().into(), NEXT, reject);
    asm.push(Insn::ldb_x(at(FLAGS)));
    // SYN must be set...
    asm.jset(TcpFlags::SYN.0.into(), NEXT, reject);
    // ...and ACK clear: a SYN-ACK answers a connection, it opens none.
    asm.jset(TcpFlags::ACK.0.into(), reject, NEXT);

    asm.push(Insn::ret(ACCEPT));
    asm.bind(reject);
    asm.push(Insn::ret(REJECT));
    asm.finish()
}
