//! Step 1: open `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` and see what it reads.
//!
//! This crate also holds the packet code every later step uses: views over the
//! IPv4 and TCP headers and their meaning ([`ipv4`], [`tcp`]), the Internet
//! checksum in its named steps ([`checksum`]), the entry point from received
//! bytes to checked headers with a one-line summary ([`packet`]), the
//! annotated dump, a table of fields per header ([`dump`]), the private
//! network namespace the demos run in ([`netns`]), and the drop from root to
//! the user who ran sudo once the sockets are open ([`privileges`]).

pub mod checksum;
pub mod dump;
pub mod error;
/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;
pub mod ipv4;
pub mod netns;
pub mod packet;
pub mod pcap;
pub mod privileges;
pub mod socket;
pub mod tcp;
pub mod testing;

pub use checksum::ChecksumCheck;
pub use dump::{annotate_packet, annotate_segment};
pub use error::ParseError;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use packet::{
    ChecksumStatus, Received, parse_received, segment_summary, summary,
};
pub use socket::{Family, MAX_PACKET, RawSocket, RecvError, SysError};
pub use tcp::{SeqNumber, TcpFlags, TcpPacket, TcpRepr};

/// Makes a write to a closed pipe end the process quietly, as it does a C
/// program, instead of making `println!` panic: `step-01-socket | head` then
/// just stops. Rust ignores SIGPIPE by default, so every write to a pipe whose
/// reader has gone fails with EPIPE, and `println!` panics on that.
///
/// Call it first thing in `main`.
pub fn exit_quietly_on_broken_pipe() {
    // SAFETY: SIG_DFL is a valid disposition for SIGPIPE and installs no
    // handler, so no Rust code runs in signal context; the old disposition
    // returned is not needed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
