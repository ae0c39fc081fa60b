//! Exercise `sendable`: how much the peer's window lets us send.
//!
//! Each segment the peer sends announces its window: how many bytes past the
//! last one it acknowledged (SND.UNA) it is ready to take. So the window ends
//! at SND.UNA + SND.WND, and of that, what lies before SND.NXT is already on
//! its way. The next segment may carry what is left of the window, no more
//! than the unsent data, and no more than one MSS (RFC 9293, 3.8.6). A window
//! that is full, or zero, allows nothing. All of it modulo 2^32.
//!
//! Reference solution.

use step_01_socket::SeqNumber;

use crate::seq::seq_distance;

/// How many bytes the next segment may carry.
pub fn sendable(
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    window: u32,
    mss: usize,
    unsent: usize,
) -> usize {
    let window_end = snd_una + window as usize;
    let room = seq_distance(snd_nxt, window_end);
    unsent.min(mss).min(room)
}
