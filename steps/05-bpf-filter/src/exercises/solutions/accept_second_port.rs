//! Exercise `accept_second_port`: one server, two clients on one address, in
//! the kernel.
//!
//! In step 4's exercise `second_client` the server learnt to answer a second
//! client, [`SECOND_CLIENT`](super::SECOND_CLIENT), 127.0.0.2:50002, next to
//! the first one, 127.0.0.2:50001. With the echo filter on its socket it would
//! never hear from it: the filter lets only port 50001 through. Widen it:
//! - a segment from the first client's address, from port `first.port()` *or*
//!   `second_port`, to the server's address and port, not a RST, not a
//!   fragment: accept;
//! - anything else, as before: reject.
//!
//! The reference solution: the test of the first port jumps over the test of
//! the second when it matches, and only a port that is neither rejects.
//! Checked by:
//!
//! ```text
//! cargo test -p step-05-bpf-filter --features solutions --test exercises
//! ```

use std::net::SocketAddrV4;

use step_01_socket::checksum::PROTO_TCP;
use step_01_socket::{TcpFlags, ipv4, tcp};

use crate::filter::at;
use crate::{ACCEPT, Assembler, FRAGMENT, Insn, NEXT, ProgramError, REJECT};

/// The filter for the server at `me`, talking to `first` and to a second
/// client on `first`'s address at `second_port`.
pub fn two_clients_filter(
    me: SocketAddrV4,
    first: SocketAddrV4,
    second_port: u16,
) -> Result<Vec<Insn>, ProgramError> {
    use ipv4::field::{DST_ADDR, FLAGS_FRAG, PROTOCOL, SRC_ADDR, VER_IHL};
    use tcp::field::{DST_PORT, FLAGS, SRC_PORT};

    let mut asm = Assembler::new();
    let reject = asm.label();

    asm.push(Insn::ldb(at(VER_IHL)));
    asm.push(Insn::and(0xf0));
    asm.jeq(0x40, NEXT, reject);
    asm.push(Insn::ldb(at(PROTOCOL)));
    asm.jeq(PROTO_TCP.into(), NEXT, reject);
    asm.push(Insn::ldh(at(FLAGS_FRAG.start)));
    asm.jset(FRAGMENT, reject, NEXT);
    asm.push(Insn::ld(at(SRC_ADDR.start)));
    asm.jeq(u32::from(*first.ip()), NEXT, reject);
    asm.push(Insn::ld(at(DST_ADDR.start)));
    asm.jeq(u32::from(*me.ip()), NEXT, reject);

    asm.push(Insn::ldxb_msh(at(VER_IHL)));
    asm.push(Insn::ldh_x(at(SRC_PORT.start)));
    // Either port goes on to the destination port test; only a port that is
    // neither jumps to `reject`.
    let port_ok = asm.label();
    asm.jeq(first.port().into(), port_ok, NEXT);
    asm.jeq(second_port.into(), NEXT, reject);
    asm.bind(port_ok);
    asm.push(Insn::ldh_x(at(DST_PORT.start)));
    asm.jeq(me.port().into(), NEXT, reject);
    asm.push(Insn::ldb_x(at(FLAGS)));
    asm.jset(TcpFlags::RST.0.into(), reject, NEXT);

    asm.push(Insn::ret(ACCEPT));
    asm.bind(reject);
    asm.push(Insn::ret(REJECT));
    asm.finish()
}
