//! Exercises for step 2, checked by `tests/exercises.rs`.
//!
//! Each exercise is one file here with a `// TODO:` where you edit. Check one
//! with the command its doc comment gives, for example:
//!
//! ```text
//! cargo test -p step-02-bind-connect --test exercises exercise_reply_segment -- --ignored
//! ```
//!
//! The reference solutions are in `solutions/`; `--features solutions` builds
//! them instead of your files.

use std::net::{Ipv4Addr, SocketAddrV4};

/// A second port the server of exercise `second_port` answers on:
/// 127.0.0.1:50002.
pub const SECOND_SERVER: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 50002);

#[cfg(not(feature = "solutions"))]
pub mod reply_segment;
#[cfg(feature = "solutions")]
#[path = "solutions/reply_segment.rs"]
pub mod reply_segment;

#[cfg(not(feature = "solutions"))]
pub mod second_port;
#[cfg(feature = "solutions")]
#[path = "solutions/second_port.rs"]
pub mod second_port;

#[cfg(not(feature = "solutions"))]
pub mod only_the_peer;
#[cfg(feature = "solutions")]
#[path = "solutions/only_the_peer.rs"]
pub mod only_the_peer;
