//! Exercise `timer_pacing`: one request per timer expiration.
//!
//! The client of step 3 sends "Hello server" from 127.0.0.2:50001 to
//! 127.0.0.1:50000 on the beat of a periodic timerfd: one request per 100 ms.
//! When the timerfd is readable, the loop reads it, and the read returns how
//! many times the timer expired since the last read. That is usually 1, but a
//! loop that was busy (or a process that was stopped) finds 3, and a read that
//! comes too early finds 0 (the read would block: EAGAIN).
//!
//! `on_tick` gets the count one read returned and the sequence number of the
//! next byte to send; it returns the requests to send now and moves
//! `next_seq` past them. To keep one request per 100 ms on average, it must
//! send one request per expiration. As shipped it sends one request whenever
//! the timer expired at all, whatever the count: expirations that piled up
//! between two reads are lost, and the client falls behind its beat.
//!
//! Check: `cargo test -p step-03-epoll --test exercises exercise_timer_pacing -- --ignored`

use step_01_socket::SeqNumber;
use step_02_bind_connect::{CLIENT, REQUEST, SERVER, data_segment};

use super::ISN;

/// The requests to send after a read of the timerfd returned `expirations`.
pub fn on_tick(expirations: u64, next_seq: &mut SeqNumber) -> Vec<Vec<u8>> {
    let mut requests = Vec::new();
    // TODO: `expirations` counts the ticks since the last read, but this
    // treats it as a yes or no.
    if expirations > 0 {
        requests.push(request(next_seq));
    }
    requests
}

/// The next "Hello server" request, at `next_seq`, which it then moves past
/// its 12 bytes.
fn request(next_seq: &mut SeqNumber) -> Vec<u8> {
    let segment = data_segment(CLIENT, SERVER, *next_seq, ISN, REQUEST);
    *next_seq += REQUEST.len();
    segment
}
