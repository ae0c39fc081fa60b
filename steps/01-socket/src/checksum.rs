//! The Internet checksum (RFC 1071) in the small steps TCP uses it.
//!
//! 1. [`sum`]: add the bytes as big-endian 16-bit words into a wide accumulator
//!    (an odd last byte is padded with a zero byte). No complement yet.
//! 2. [`fold`]: add the carries back in until the sum fits in 16 bits.
//! 3. [`pseudo_header`]: TCP's checksum also covers source and destination
//!    address, a zero byte, the protocol number (6) and the TCP length.
//! 4. [`tcp_checksum`]: fold(pseudo-header + segment) and complement it. Done with
//!    the checksum field set to zero, this is the value to store ("fill").
//! 5. [`verify_tcp`]: summed over everything, *including* the stored checksum, a
//!    correct segment folds to `0xffff` ("verify").
//!
//! The kernel neither fills nor checks this field for a raw socket: it is ours.

use std::net::Ipv4Addr;

/// IANA protocol number of TCP, as it stands in the IPv4 header and the
/// pseudo-header.
pub const PROTO_TCP: u8 = 6;

// ANCHOR: sum
/// Step 1: the one's-complement sum of `data` as big-endian 16-bit words, not yet
/// folded and not complemented.
///
/// The accumulator is 64 bits wide, so carries are simply kept and folded once at
/// the end: a 64 KiB segment adds at most 32 Ki words of 16 bits, far below 2^64.
pub fn sum(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    let mut acc: u64 = 0;
    for word in &mut words {
        acc += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        // An odd length is padded with a zero byte on the right.
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}
// ANCHOR_END: sum

// ANCHOR: fold
/// Step 2: add the carries back in (end-around carry) until 16 bits remain.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}
// ANCHOR_END: fold

// ANCHOR: pseudo_header
/// Step 3: the sum of TCP's pseudo-header: source and destination address, a zero
/// byte, the protocol, and the length of the TCP segment (header + payload).
pub fn pseudo_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    length: u16,
) -> u64 {
    let mut header = [0u8; 12];
    header[0..4].copy_from_slice(&src.octets());
    header[4..8].copy_from_slice(&dst.octets());
    header[8] = 0;
    header[9] = protocol;
    header[10..12].copy_from_slice(&length.to_be_bytes());
    sum(&header)
}
// ANCHOR_END: pseudo_header

// ANCHOR: tcp_checksum
/// Step 4: the checksum of a TCP `segment` (header + payload) sent from `src` to
/// `dst`: the complement of the folded sum over pseudo-header and segment.
///
/// Call it with the checksum field set to zero to get the value to store there.
///
/// # Panics
/// If the segment is longer than 65535 bytes, which no IPv4 packet can carry.
pub fn tcp_checksum(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    let length =
        u16::try_from(segment.len()).expect("a TCP segment fits in 65535 bytes");
    !fold(pseudo_header(src, dst, PROTO_TCP, length) + sum(segment))
}
// ANCHOR_END: tcp_checksum

// ANCHOR: verify_tcp
/// Step 5: whether the checksum stored in `segment` is right: the folded sum over
/// pseudo-header and segment, stored checksum included, is all ones.
///
/// Segments longer than 65535 bytes never verify.
pub fn verify_tcp(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> bool {
    match u16::try_from(segment.len()) {
        Ok(length) => {
            fold(pseudo_header(src, dst, PROTO_TCP, length) + sum(segment)) == 0xffff
        }
        Err(_) => false,
    }
}
// ANCHOR_END: verify_tcp

/// The IPv4 header checksum: the complement of the folded sum over the header
/// (with its checksum field zero when computing the value to store).
pub fn ipv4_header_checksum(header: &[u8]) -> u16 {
    !fold(sum(header))
}

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 1071, section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
    const RFC1071_BYTES: [u8; 8] = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];

    #[test]
    fn sum_of_rfc1071_example_before_folding() {
        // 0001 + f203 + f4f5 + f6f7 = 2ddf0, the RFC's unfolded sum.
        assert_eq!(sum(&RFC1071_BYTES), 0x2_ddf0);
    }

    #[test]
    fn fold_of_rfc1071_example_is_ddf2() {
        assert_eq!(fold(sum(&RFC1071_BYTES)), 0xddf2);
        // The checksum to store is its complement.
        assert_eq!(!fold(sum(&RFC1071_BYTES)), 0x220d);
    }

    #[test]
    fn odd_length_is_padded_with_a_zero_byte() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn fold_keeps_folding_until_16_bits() {
        // ffff + ffff = 1fffe -> fffe + 1 = ffff; a second carry may appear.
        assert_eq!(fold(0x1_fffe), 0xffff);
        assert_eq!(fold(0xffff_ffff_ffff), 0xffff);
        assert_eq!(fold(0), 0);
    }

    #[test]
    fn pseudo_header_sums_addresses_protocol_and_length() {
        let src = Ipv4Addr::new(127, 0, 0, 2);
        let dst = Ipv4Addr::new(127, 0, 0, 1);
        // 7f00 + 0002 + 7f00 + 0001 + 0006 + 0020
        let expected = 0x7f00 + 0x0002 + 0x7f00 + 0x0001 + 0x0006 + 0x0020;
        assert_eq!(pseudo_header(src, dst, PROTO_TCP, 32), expected);
    }

    #[test]
    fn filled_checksum_verifies_and_a_flipped_bit_does_not() {
        let src = Ipv4Addr::new(127, 0, 0, 2);
        let dst = Ipv4Addr::new(127, 0, 0, 1);
        let mut segment = [0u8; 21]; // odd on purpose
        segment[0..2].copy_from_slice(&50001u16.to_be_bytes());
        segment[2..4].copy_from_slice(&50000u16.to_be_bytes());
        segment[12] = 5 << 4;
        segment[20] = b'!';
        let checksum = tcp_checksum(src, dst, &segment);
        segment[16..18].copy_from_slice(&checksum.to_be_bytes());
        assert!(verify_tcp(src, dst, &segment));
        segment[20] ^= 1;
        assert!(!verify_tcp(src, dst, &segment));
    }

    #[test]
    fn the_same_bytes_from_other_addresses_do_not_verify() {
        let a = Ipv4Addr::new(127, 0, 0, 1);
        let b = Ipv4Addr::new(127, 0, 0, 2);
        let mut segment = [0u8; 20];
        segment[12] = 5 << 4;
        let checksum = tcp_checksum(a, b, &segment);
        segment[16..18].copy_from_slice(&checksum.to_be_bytes());
        assert!(verify_tcp(a, b, &segment));
        assert!(!verify_tcp(a, Ipv4Addr::new(127, 0, 0, 3), &segment));
    }
}
// ANCHOR_END: tests
