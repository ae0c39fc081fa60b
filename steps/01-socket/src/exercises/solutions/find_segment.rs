//! Solution of exercise `find_segment`: the TCP segment inside a read.
//!
//! Both lengths come from the packet itself, and each is checked against the
//! bytes that were read before it is used to slice them: no input can make
//! this function panic. (`Ipv4Packet::new_checked(packet)?.payload()` makes
//! exactly these checks: `check_len`'s, bounds only.)

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
    // IHL: the low nibble of byte 0, in 32-bit words.
    let ihl = packet[ipv4::field::VER_IHL] & ipv4::IHL_MASK;
    if ihl < 5 {
        return Err(ParseError::BadIhl(ihl));
    }
    let start = usize::from(ihl) * 4;
    if start > packet.len() {
        return Err(ParseError::Truncated {
            layer: "IPv4 header with options",
            required: start,
            len: packet.len(),
        });
    }
    // Total length: bytes 2 and 3, big-endian, the header included.
    let total = &packet[ipv4::field::TOTAL_LEN];
    let total_len = u16::from_be_bytes([total[0], total[1]]);
    let end = usize::from(total_len);
    if end < start {
        return Err(ParseError::BadTotalLen {
            total_len,
            header_len: start,
        });
    }
    if end > packet.len() {
        return Err(ParseError::TotalLenPastEnd {
            total_len,
            len: packet.len(),
        });
    }
    Ok(&packet[start..end])
}
