//! Comparing sequence numbers modulo 2^32 (RFC 9293, section 3.4).
//!
//! A sequence number is 32 bits that wrap: after 4294967295 comes 0. So "a
//! comes before b" cannot be `a.0 < b.0`; it is "the way from a to b, going
//! forward, is shorter than half the circle": the signed distance `b - a`,
//! which `SeqNumber`'s `Sub` computes across the wrap, is positive.
//!
//! TODO(issue13-wire): use SeqNumber's ordering. Step 1's `SeqNumber` has the
//! wrapping `+` and signed `-` these helpers are built on, but no comparison
//! of its own yet; once it has one, these names go.

use step_01_socket::SeqNumber;

// ANCHOR: compare
/// `a` comes strictly before `b`, across the wrap.
pub(crate) fn seq_lt(a: SeqNumber, b: SeqNumber) -> bool {
    b - a > 0
}

/// `a` comes before `b`, or is `b`.
pub(crate) fn seq_le(a: SeqNumber, b: SeqNumber) -> bool {
    b - a >= 0
}

/// `a` comes strictly after `b`.
pub(crate) fn seq_gt(a: SeqNumber, b: SeqNumber) -> bool {
    seq_lt(b, a)
}

/// `low <= x < high`, all modulo 2^32: `x` lies in the window that starts at
/// `low` and ends just before `high`.
pub(crate) fn seq_in(x: SeqNumber, low: SeqNumber, high: SeqNumber) -> bool {
    seq_le(low, x) && seq_lt(x, high)
}
// ANCHOR_END: compare

/// How many sequence numbers lie from `from` up to `to` (0 if `to` is not
/// after `from`).
pub(crate) fn seq_distance(from: SeqNumber, to: SeqNumber) -> usize {
    usize::try_from(to - from).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: u32 = u32::MAX;

    #[test]
    fn order_holds_across_the_wrap() {
        // 2^32 - 2, 2^32 - 1, 0, 1: each comes before the next.
        let around = [TOP - 1, TOP, 0, 1].map(SeqNumber);
        for pair in around.windows(2) {
            assert!(seq_lt(pair[0], pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(seq_gt(pair[1], pair[0]));
            assert!(!seq_lt(pair[1], pair[0]));
        }
        // Numerically smaller, yet 3 after.
        assert!(seq_lt(SeqNumber(TOP - 1), SeqNumber(1)));
        assert!(seq_le(SeqNumber(5), SeqNumber(5)));
        assert!(!seq_lt(SeqNumber(5), SeqNumber(5)));
    }

    #[test]
    fn a_window_may_straddle_the_wrap() {
        let low = SeqNumber(TOP - 9);
        let high = low + 20; // 10
        assert_eq!(high, SeqNumber(10));
        assert!(seq_in(SeqNumber(TOP), low, high));
        assert!(seq_in(SeqNumber(0), low, high));
        assert!(seq_in(SeqNumber(9), low, high));
        assert!(seq_in(low, low, high), "the low end is in");
        assert!(!seq_in(high, low, high), "the high end is out");
        assert!(!seq_in(SeqNumber(TOP - 10), low, high));
    }

    #[test]
    fn distance_counts_forward_and_is_zero_backward() {
        assert_eq!(seq_distance(SeqNumber(TOP - 1), SeqNumber(2)), 4);
        assert_eq!(seq_distance(SeqNumber(2), SeqNumber(TOP - 1)), 0);
        assert_eq!(seq_distance(SeqNumber(7), SeqNumber(7)), 0);
    }
}
