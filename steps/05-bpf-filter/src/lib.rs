//! Step 5: a classic BPF filter on each raw socket, so that the kernel drops
//! what the echo would only have ignored.
//!
//! Step 4's sides read every segment between their two addresses, sort it
//! with step 2's `classify`, and ignore all but the peer's: the kernel's RST
//! after each hand-made segment, our own segments when both ends share an
//! address, anybody else's traffic. Each of those costs a wake-up and a
//! `read()`. Here the same test runs in the kernel, as a small program
//! attached to the socket with `SO_ATTACH_FILTER`, and what it rejects is
//! never queued at all.
//!
//! - [`insn`]: classic BPF instructions as data, [`Insn`] (the kernel's
//!   `struct sock_filter`), with a constructor per opcode used;
//! - [`program`]: an [`Assembler`] that resolves labelled jumps into offsets,
//!   and [`check`], the kernel's checks on a program and stricter: it also
//!   refuses opcodes this crate does not run;
//! - [`filter`]: [`echo_filter`], the program for one side of the echo;
//! - [`annotate`](mod@annotate): the program listed like `tcpdump -d`, each
//!   line with what it means, and [`explain`] for one packet's run;
//! - [`interpret`]: [`run`], the same decisions computed in user space, so
//!   tests need no privileges;
//! - [`socket`]: [`attach`], [`lock_filter`], [`drain_queued`] and friends,
//!   and [`filter_socket`], all of them in the order a socket needs them;
//! - [`tally`]: what the demo counts; [`args`]: its command line.
//!
//! The demo runs step 4's echo loop with sockets filtered here. The
//! workspace's `workbook-bench` crate measures the filtered echo next to
//! step 4's and the kernel's TCP.

pub mod annotate;
pub mod args;
/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;
pub mod filter;
pub mod insn;
pub mod interpret;
pub mod program;
pub mod socket;
pub mod tally;

pub use annotate::{annotate, explain};
pub use filter::{ACCEPT, FRAGMENT, REJECT, echo_filter};
pub use insn::{Insn, code};
pub use interpret::{Stop, Trace, run, trace};
pub use program::{Assembler, Label, NEXT, ProgramError, Target, check};
pub use socket::{
    attach, attached, detach, drain_queued, filter_socket, lock_filter,
};
pub use tally::{Tally, Wakes};
