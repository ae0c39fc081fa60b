//! Step 1: open `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` and see what it reads.
//!
//! This crate also holds the packet code every later step uses: views over the
//! IPv4 and TCP headers and their meaning ([`ipv4`], [`tcp`]), the Internet
//! checksum in its named steps ([`checksum`]), the entry point from received
//! bytes to checked headers with a one-line summary ([`packet`]), the
//! annotated dump, a table of fields per header ([`dump`]), and the raw socket
//! itself ([`socket`]).
//!
//! What the program needs besides its lesson (the private network namespace it
//! runs in, the drop from root after sudo, the pcap writer) is in the
//! `support` crate.

pub mod checksum;
pub mod dump;
pub mod error;
/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;
pub mod ipv4;
pub mod packet;
pub mod socket;
pub mod tcp;

pub use checksum::ChecksumCheck;
pub use dump::{annotate_packet, annotate_segment};
pub use error::ParseError;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use packet::{
    ChecksumStatus, Received, parse_received, segment_summary, summary,
};
pub use socket::{Family, MAX_PACKET, RawSocket, RecvError, SysError};
pub use tcp::{SeqNumber, TcpFlags, TcpPacket, TcpRepr};

/// A failed call of a step's socket code, passed up through code that also
/// fails in `support`'s ways (the echo's loop): the same call and errno, in
/// the same words.
impl From<SysError> for support::Error {
    fn from(error: SysError) -> support::Error {
        support::Error::sys(error.call, error.errno)
    }
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::*;

    #[test]
    fn a_sys_error_reads_the_same_as_a_support_error() {
        for (call, errno) in [
            ("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", Errno::EPERM),
            ("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", Errno::EACCES),
            ("bind(127.0.0.1:50000)", Errno::EADDRNOTAVAIL),
            ("write(32 bytes)", Errno::EPERM),
        ] {
            let error = SysError::new(call, errno);
            let text = error.to_string();
            assert_eq!(support::Error::from(error).to_string(), text);
        }
    }
}
