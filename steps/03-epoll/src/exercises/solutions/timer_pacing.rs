//! Solution of `timer_pacing`: one request per timer expiration.
//!
//! A timerfd does not queue one event per expiration: it keeps a counter, and
//! a read returns the counter and resets it. The count is the number of ticks
//! since the last read, so the loop sends that many requests: 3 after a late
//! wake-up, none after a read that found 0. The sequence numbers then advance
//! by 12 bytes per request, whatever the wake-ups looked like.
//!
//! A real client may cap the burst (after a laptop's sleep the count can be in
//! the thousands); this one does not.

use step_01_socket::SeqNumber;
use step_02_bind_connect::{CLIENT, REQUEST, SERVER, data_segment};

use super::ISN;

/// The requests to send after a read of the timerfd returned `expirations`.
pub fn on_tick(expirations: u64, next_seq: &mut SeqNumber) -> Vec<Vec<u8>> {
    // One request per expiration, none when nothing expired.
    (0..expirations).map(|_| request(next_seq)).collect()
}

/// The next "Hello server" request, at `next_seq`, which it then moves past
/// its 12 bytes.
fn request(next_seq: &mut SeqNumber) -> Vec<u8> {
    let segment = data_segment(CLIENT, SERVER, *next_seq, ISN, REQUEST);
    *next_seq += REQUEST.len();
    segment
}
