//! Step 1: open `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` and see what it reads.
//!
//! This crate also holds the packet code every later step uses: views over the
//! IPv4 and TCP headers ([`ipv4`], [`tcp`]), the Internet checksum in its named
//! steps ([`checksum`]), the entry point from received bytes to checked headers
//! with an annotated dump and a one-line summary ([`packet`]), and the private
//! network namespace the demos run in ([`netns`]).

pub mod checksum;
pub mod error;
pub mod ipv4;
pub mod netns;
pub mod packet;
pub mod socket;
pub mod tcp;

pub use error::ParseError;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use packet::{
    ChecksumStatus, Received, annotate_packet, annotate_segment, parse_received,
    summary,
};
pub use socket::{Family, MAX_PACKET, RawSocket, RecvError, SysError};
pub use tcp::{SeqNumber, TcpFlags, TcpPacket, TcpRepr};
