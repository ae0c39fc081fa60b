//! Step 6: silence the kernel, then hold a real TCP connection with it.
//!
//! Steps 4 and 5 are two raw ends speaking a made-up protocol inside TCP
//! headers. Here one raw end speaks TCP itself (RFC 9293) to the kernel's own
//! TCP, as a client of a `listen()`ing socket and as a server for a
//! `connect()`ing one.
//!
//! Free of I/O, so that every rule can be tested without privileges:
//! - [`tcb`]: one connection as a state machine, [`Tcb`], for both the active
//!   (client) and the passive (server) open: segments and the time in,
//!   segments and [`Event`]s out;
//! - [`segment`]: a segment's meaning, read from and written to bytes with
//!   step 1's views; [`options`]: TCP options, parsed without trusting a
//!   length byte;
//! - [`seq`](mod@seq) (private): sequence numbers counted modulo 2^32 (step
//!   1's `SeqNumber` compares them itself);
//! - [`app`]: what our end does with its connection, [`App`]: the client
//!   sends its message and closes, the server answers.
//!
//! The rest does I/O: [`silence`] installs the nftables rule without which the
//! kernel resets every connection a raw socket makes (and says what it typed);
//! [`kernel_side`] is the kernel's TCP in threads for the demo; [`args`] is
//! the command line; [`run`] is the thin epoll loop that moves bytes between
//! the raw socket and the [`Tcb`].

pub mod app;
pub mod args;
/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;
pub mod kernel_side;
pub mod options;
pub mod run;
pub mod segment;
mod seq;
pub mod silence;
pub mod tcb;

pub use app::{App, CloseWhen};
pub use segment::Segment;
pub use tcb::{Cause, Config, Event, Ignored, Outgoing, State, Tcb};
