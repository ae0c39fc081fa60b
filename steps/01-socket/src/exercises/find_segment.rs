//! Exercise `find_segment`: find the TCP segment in what a raw socket read.
//!
//! A read from `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` returns a whole IPv4
//! packet. The TCP segment starts where the IPv4 header ends, and the IPv4
//! header is not always 20 bytes long: its IHL field (the low four bits of
//! byte 0) gives its length in 32-bit words, 5 to 15, options included. The
//! packet ends where its total length field (bytes 2 and 3) says.
//!
//! `tcp_segment` must return the bytes from the end of the IPv4 header to the
//! end of the packet, and an error instead of a panic for bytes that cannot be
//! a packet: an IHL below 5, a header or a total length longer than the bytes
//! read, a total length shorter than the header.
//!
//! The code below assumes a 20-byte header. Edit it where the `TODO` says
//! until the check passes:
//!
//! ```text
//! cargo test -p step-01-socket --test exercises exercise_find_segment -- --ignored
//! ```

use crate::ParseError;
use crate::ipv4;

/// The TCP segment (header and payload) inside the IPv4 packet `packet`.
pub fn tcp_segment(packet: &[u8]) -> Result<&[u8], ParseError> {
    if packet.len() < ipv4::MIN_HEADER_LEN {
        return Err(ParseError::Truncated {
            layer: "IPv4 header",
            required: ipv4::MIN_HEADER_LEN,
            len: packet.len(),
        });
    }
    // TODO: the header is IHL * 4 bytes long, and the packet ends at total
    // length, not at the end of the read. Read both (see ipv4::field), check
    // them against packet.len(), and return the bytes between them.
    let start = ipv4::MIN_HEADER_LEN;
    let end = packet.len();
    Ok(&packet[start..end])
}
