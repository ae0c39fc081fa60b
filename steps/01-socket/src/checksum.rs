//! The Internet checksum (RFC 1071) in the small steps TCP uses it.
//!
//! 1. [`sum`]: add the bytes as big-endian 16-bit words into a wide accumulator
//!    (an odd last byte is padded with a zero byte). No complement yet. Long
//!    data goes through [`sum_wide`], the same sum eight bytes at a time.
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

// ANCHOR: check
/// Whether a `Repr::parse` verifies the checksum: the receive half of what
/// smoltcp calls checksum capabilities.
///
/// The caller decides, because only the caller knows who sent the bytes. On
/// `lo` the kernel's own segments carry a *partial* TCP checksum (offload:
/// only the pseudo-header's sum, for a network card that `lo` does not
/// have), so a receive path that must see them cannot verify; segments our
/// own programs build always carry a full one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumCheck {
    /// A wrong checksum is an error ([`crate::ParseError::BadChecksum`]).
    Verify,
    /// The checksum is not looked at.
    Ignore,
}
// ANCHOR_END: check

// ANCHOR: sum
/// Step 1: the one's-complement sum of `data` as big-endian 16-bit words, not yet
/// folded and not complemented.
///
/// The accumulator is 64 bits wide, so carries are simply kept and folded once at
/// the end: a 64 KiB segment adds at most 32 Ki words of 16 bits, far below 2^64.
///
/// From [`WIDE_FROM`] bytes on, [`sum_wide`] does the same job several times
/// faster. Its result is a smaller number with the same [`fold`], which is all
/// that any use of the sum looks at.
pub fn sum(data: &[u8]) -> u64 {
    if data.len() >= WIDE_FROM {
        return sum_wide(data);
    }
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

/// The length from which [`sum`] takes the wide path: below it, the plain
/// loop is as fast, and its unfolded result is the textbook one.
pub const WIDE_FROM: usize = 64;

// ANCHOR: sum_wide
/// The same sum as [`sum`], up to folding, eight bytes at a time: what makes
/// a 64 KiB segment's checksum cost microseconds rather than tens of them.
///
/// Two facts of one's-complement arithmetic (RFC 1071, section 2) allow it:
/// - (C) parallel summation: a 32-bit word is two 16-bit words, and carries
///   out of 16 bits come back in through [`fold`]. So the sum may take 32 bits
///   at a time, as long as nothing overflows the accumulator: here each half
///   of a 64-bit word goes into one of two 64-bit accumulators, which would
///   take 32 GiB of data to overflow.
/// - (B) byte order independence: summing the words in the machine's own byte
///   order gives the big-endian sum with its two bytes swapped, once folded.
///   So the words are read as the CPU stores them, with no swap per word, and
///   the folded result's bytes are swapped back once at the end. On a
///   big-endian machine that last step changes nothing.
///
/// Written as a plain loop, with two independent accumulators, it is
/// vectorised by the compiler (opt-level 3, any x86-64 CPU).
pub fn sum_wide(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(8);
    let (mut low, mut high) = (0u64, 0u64);
    for word in &mut words {
        let word = u64::from_ne_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        low += word & 0xffff_ffff;
        high += word >> 32;
    }
    // The 16-bit sum in the machine's byte order, folded; as bytes in memory
    // they are the big-endian sum's two bytes.
    let native = fold(low + high);
    let big_endian = u16::from_be_bytes(native.to_ne_bytes());
    // The last 0 to 7 bytes start at an even offset: the plain loop sums them.
    let rest = words.remainder();
    u64::from(big_endian) + sum(rest)
}
// ANCHOR_END: sum_wide

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

    /// The definition, word by word, for the wide path to be compared with.
    fn by_the_book(data: &[u8]) -> u64 {
        data.chunks(2)
            .map(|pair| match pair {
                [hi, lo] => u64::from(u16::from_be_bytes([*hi, *lo])),
                [hi] => u64::from(u16::from_be_bytes([*hi, 0])),
                _ => 0,
            })
            .sum()
    }

    /// A small xorshift generator: varied bytes, the same on every run.
    fn bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn the_wide_sum_folds_like_the_definition_at_every_length() {
        let mut seed = 0x5eed_c0de_u64;
        // Every length around the switch and across the 8-byte steps, odd and
        // even, and a few long ones, up to a 64 KiB segment.
        let lengths = (0..300).chain([1499, 1500, 9001, 65_535, 65_536]);
        for len in lengths {
            for _ in 0..20 {
                let data = bytes(&mut seed, len);
                assert_eq!(
                    fold(sum(&data)),
                    fold(by_the_book(&data)),
                    "{len} bytes: {data:02x?}"
                );
                assert_eq!(fold(sum_wide(&data)), fold(by_the_book(&data)));
            }
        }
    }

    #[test]
    fn the_wide_sum_handles_the_extremes() {
        // All ones: every word is 0xffff, the largest carries there are.
        let ones = vec![0xff; 65_536];
        assert_eq!(fold(sum_wide(&ones)), 0xffff);
        assert_eq!(fold(sum(&ones)), fold(by_the_book(&ones)));
        // All zeroes sum to 0, not to 0xffff (its other spelling).
        assert_eq!(sum(&[0; 1500]), 0);
        // Below the switch, the unfolded sum is the textbook one.
        let short: Vec<u8> = (0..WIDE_FROM as u8 - 1).collect();
        assert_eq!(sum(&short), by_the_book(&short));
        // A byte order mix-up would swap the bytes of the result.
        let mut data = vec![0; 64];
        data[0] = 0x12;
        assert_eq!(fold(sum(&data)), 0x1200);
        data[63] = 0x34;
        assert_eq!(fold(sum(&data)), 0x1234);
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
