//! The echo's filter: the test of step 2's `classify` that says "the peer's
//! segment", moved into the kernel.
//!
//! A raw IPv4 socket's filter sees each packet as a read would return it,
//! from the first byte of the IPv4 header. So absolute offsets are IPv4
//! offsets (protocol at 9, addresses at 12 and 16), and the TCP header starts
//! wherever the IPv4 header's length (IHL * 4, 20 bytes or more) says.

use std::net::SocketAddrV4;

use step_01_socket::checksum::PROTO_TCP;
use step_01_socket::{TcpFlags, ipv4, tcp};

use crate::insn::Insn;
use crate::program::{Assembler, NEXT};

/// `ret` with this keeps the whole packet: no IPv4 packet is longer.
pub const ACCEPT: u32 = 65535;
/// `ret` with this drops the packet.
pub const REJECT: u32 = 0;

/// The IPv4 "more fragments" flag and the 13-bit fragment offset: either one
/// set means the packet is a piece of a larger one, whose ports may not even
/// be in it. It is step 1's [`ipv4::FRAGMENT_MASK`], the bits by which
/// `Ipv4Repr::parse` (and so `parse_received`) refuses a fragment: the
/// filter and the parser refuse the same packets.
pub const FRAGMENT: u32 = ipv4::FRAGMENT_MASK as u32;

/// A byte offset of a header field, as the 32-bit `k` of an instruction.
pub const fn at(offset: usize) -> u32 {
    offset as u32
}

// ANCHOR: echo_filter
/// The program that keeps, for the endpoint `me` talking to `peer`, exactly
/// what step 2's `classify` calls `FromPeer`: TCP from the peer's address and
/// port to ours, not a RST, and whole (no fragment). Everything else, the
/// kernel's RSTs, our own segments read back, anybody else's traffic, stays
/// in the kernel: it never wakes the program up.
pub fn echo_filter(me: SocketAddrV4, peer: SocketAddrV4) -> Vec<Insn> {
    use ipv4::field::{DST_ADDR, FLAGS_FRAG, PROTOCOL, SRC_ADDR, VER_IHL};
    use tcp::field::{DST_PORT, FLAGS, SRC_PORT};

    let mut asm = Assembler::new();
    let reject = asm.label();

    // The IPv4 header, from offset 0.
    asm.push(Insn::ldb(at(VER_IHL)));
    asm.push(Insn::and(ipv4::VERSION_MASK.into()));
    asm.jeq(u32::from(ipv4::VERSION << 4), NEXT, reject);
    asm.push(Insn::ldb(at(PROTOCOL)));
    asm.jeq(PROTO_TCP.into(), NEXT, reject);
    asm.push(Insn::ldh(at(FLAGS_FRAG.start)));
    asm.jset(FRAGMENT, reject, NEXT);
    asm.push(Insn::ld(at(SRC_ADDR.start)));
    asm.jeq(u32::from(*peer.ip()), NEXT, reject);
    asm.push(Insn::ld(at(DST_ADDR.start)));
    asm.jeq(u32::from(*me.ip()), NEXT, reject);

    // The TCP header, from offset X = IHL * 4.
    asm.push(Insn::ldxb_msh(at(VER_IHL)));
    asm.push(Insn::ldh_x(at(SRC_PORT.start)));
    asm.jeq(peer.port().into(), NEXT, reject);
    asm.push(Insn::ldh_x(at(DST_PORT.start)));
    asm.jeq(me.port().into(), NEXT, reject);
    asm.push(Insn::ldb_x(at(FLAGS)));
    asm.jset(TcpFlags::RST.0.into(), reject, NEXT);

    asm.push(Insn::ret(ACCEPT));
    asm.bind(reject);
    asm.push(Insn::ret(REJECT));
    // Every jump goes forward to a bound label, whatever the addresses: the
    // tests check this shape once, and it cannot change at run time.
    asm.finish()
        .expect("the echo filter's jumps are forward and bound")
}
// ANCHOR_END: echo_filter
