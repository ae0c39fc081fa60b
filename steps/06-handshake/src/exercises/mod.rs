//! Exercises for step 6: three rules of RFC 9293, each one function, checked
//! by a snapshot of what it answers for a fixed set of segments.
//!
//! Each exercise is one file here with a `// TODO:` where to edit. The
//! reference solutions live in `solutions/` and replace the starters when the
//! crate is built with `--features solutions`. Check one exercise with
//!
//! ```text
//! cargo test -p step-06-handshake --test exercises exercise_<name> -- --ignored
//! ```
//!
//! - [`final_ack`](crate::exercises::final_ack): the acknowledgment number
//!   that acknowledges a whole segment, SYN and FIN included.
//! - [`rst_in_syn_sent`](crate::exercises::rst_in_syn_sent): which RSTs a
//!   client whose SYN is out must obey, and which it must ignore.
//! - [`sendable`](crate::exercises::sendable): how much the peer's window
//!   lets us send.
//!
//! The program does not use any of this: the `Tcb` has its own answers.

#[cfg(not(feature = "solutions"))]
pub mod final_ack;
#[cfg(feature = "solutions")]
#[path = "solutions/final_ack.rs"]
pub mod final_ack;

#[cfg(not(feature = "solutions"))]
pub mod rst_in_syn_sent;
#[cfg(feature = "solutions")]
#[path = "solutions/rst_in_syn_sent.rs"]
pub mod rst_in_syn_sent;

#[cfg(not(feature = "solutions"))]
pub mod sendable;
#[cfg(feature = "solutions")]
#[path = "solutions/sendable.rs"]
pub mod sendable;
