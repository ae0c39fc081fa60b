//! Exercises for step 5: filters of your own, checked by what they decide on
//! a fixed cast of packets.
//!
//! Each exercise is one file here with a `// TODO:` where to edit. The
//! reference solutions live in `solutions/` and replace the starters when the
//! crate is built with `--features solutions`. Check one exercise with
//!
//! ```text
//! cargo test -p step-05-bpf-filter --test exercises exercise_<name> -- --ignored
//! ```
//!
//! - [`accept_second_port`](crate::exercises::accept_second_port): the
//!   server's filter, widened to a second client on the first one's address,
//!   port 50002 (step 4's exercise `second_client`, in the kernel).
//! - [`syn_only`](crate::exercises::syn_only): a filter for a listener that
//!   keeps only connection requests: SYN set, ACK clear, from anyone.
//!
//! The binary does not use any of this: `echo_filter` stays as it is. Each
//! exercise returns the [`Assembler`](crate::Assembler)'s result, so a jump
//! to a label you forgot to bind is an error the check shows, not a panic.

#[cfg(not(feature = "solutions"))]
pub mod accept_second_port;
#[cfg(feature = "solutions")]
#[path = "solutions/accept_second_port.rs"]
pub mod accept_second_port;

#[cfg(not(feature = "solutions"))]
pub mod syn_only;
#[cfg(feature = "solutions")]
#[path = "solutions/syn_only.rs"]
pub mod syn_only;

/// The second client of [`accept_second_port`]: the first client's address,
/// port 50002, as in step 4's exercise `second_client`.
pub use step_04_echo::exercises::SECOND_CLIENT;
