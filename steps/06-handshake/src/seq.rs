//! Counting sequence numbers modulo 2^32 (RFC 9293, section 3.4).
//!
//! A sequence number is 32 bits that wrap: after 4294967295 comes 0. So "a
//! comes before b" cannot be `a.0 < b.0`; it is "the way from a to b, going
//! forward, is shorter than half the circle": the signed distance `b - a`,
//! which `SeqNumber`'s `Sub` computes across the wrap, is positive. Step 1's
//! `SeqNumber` compares so itself (its `PartialOrd`): the `Tcb` writes
//! `ack <= self.snd_nxt` and means it modulo 2^32. What is left here is a
//! count: how many sequence numbers lie from one to another.

use step_01_socket::SeqNumber;

// ANCHOR: compare
/// How many sequence numbers lie from `from` up to `to` (0 if `to` is not
/// after `from`): the wrapping difference, where it is not negative.
pub(crate) fn seq_distance(from: SeqNumber, to: SeqNumber) -> usize {
    usize::try_from(to - from).unwrap_or(0)
}
// ANCHOR_END: compare

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use super::*;

    const TOP: u32 = u32::MAX;

    /// `low <= x < high`, as the `Tcb` checks that a segment is in its
    /// window.
    fn in_window(x: SeqNumber, low: SeqNumber, high: SeqNumber) -> bool {
        low <= x && x < high
    }

    #[test]
    fn order_holds_across_the_wrap() {
        // 2^32 - 2, 2^32 - 1, 0, 1: each comes before the next.
        let around = [TOP - 1, TOP, 0, 1].map(SeqNumber);
        for pair in around.windows(2) {
            assert!(pair[0] < pair[1], "{} < {}", pair[0], pair[1]);
            assert!(pair[1] > pair[0]);
            assert_eq!(pair[1].partial_cmp(&pair[0]), Some(Ordering::Greater));
        }
        // Numerically smaller, yet 3 after.
        assert!(SeqNumber(TOP - 1) < SeqNumber(1));
        assert!(SeqNumber(5) <= SeqNumber(5));
        assert_eq!(
            SeqNumber(5).partial_cmp(&SeqNumber(5)),
            Some(Ordering::Equal)
        );
    }

    #[test]
    fn a_window_may_straddle_the_wrap() {
        let low = SeqNumber(TOP - 9);
        let high = low + 20; // 10
        assert_eq!(high, SeqNumber(10));
        assert!(in_window(SeqNumber(TOP), low, high));
        assert!(in_window(SeqNumber(0), low, high));
        assert!(in_window(SeqNumber(9), low, high));
        assert!(in_window(low, low, high), "the low end is in");
        assert!(!in_window(high, low, high), "the high end is out");
        assert!(!in_window(SeqNumber(TOP - 10), low, high));
    }

    #[test]
    fn distance_counts_forward_and_is_zero_backward() {
        assert_eq!(seq_distance(SeqNumber(TOP - 1), SeqNumber(2)), 4);
        assert_eq!(seq_distance(SeqNumber(2), SeqNumber(TOP - 1)), 0);
        assert_eq!(seq_distance(SeqNumber(7), SeqNumber(7)), 0);
    }
}
