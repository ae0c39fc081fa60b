//! `bench` for step 5: step 4's harness ([`step_04_echo::bench`]), run with
//! one more echo, the raw one with [`echo_filter`] attached to each socket.
//!
//! The three echoes run in the same process, one after the other, each at 12
//! and 1400 bytes: `raw` (step 4's, unfiltered), `raw-filtered` (the same
//! code, with the filter), and `kernel-tcp` (the kernel's TCP, the
//! yardstick). Only the socket's preparation differs between the first two,
//! so their ratio is what the filter is worth: the kernel's RSTs no longer
//! wake the client, nor cost either end a `read()`.

use std::net::SocketAddrV4;

use step_01_socket::{RawSocket, SysError};
use step_04_echo::bench::{Echo, KERNEL_TCP, RAW, Ratio, Variant};

use crate::{Insn, REJECT, attach, drain_queued, echo_filter, lock_filter};

// ANCHOR: filter_socket
/// The preparation of each raw socket in the filtered echo, as in the demo:
/// a program that rejects everything, while whatever was queued before it is
/// drained; then the filter for `me` talking to `peer`, attached and locked.
pub fn filter_socket(
    socket: &RawSocket,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<(), SysError> {
    attach(socket, &[Insn::ret(REJECT)])?;
    drain_queued(socket)?;
    attach(socket, &echo_filter(me, peer))?;
    lock_filter(socket)?;
    Ok(())
}

/// Step 4's raw echo with the filter on both ends' sockets.
pub const FILTERED: Variant<'static> = Variant {
    name: "raw-filtered",
    echo: Echo::Raw(Some(&filter_socket)),
};
// ANCHOR_END: filter_socket

/// What `bench` runs, in this order at each size.
pub const VARIANTS: [Variant<'static>; 3] = [RAW, FILTERED, KERNEL_TCP];

/// The ratios it prints: what the filter is worth first.
pub const RATIOS: [Ratio; 3] = [
    Ratio {
        of: "raw-filtered",
        to: "raw",
    },
    Ratio {
        of: "raw",
        to: "kernel-tcp",
    },
    Ratio {
        of: "raw-filtered",
        to: "kernel-tcp",
    },
];
