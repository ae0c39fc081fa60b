//! Exercises for step 1, checked by `tests/exercises.rs`.
//!
//! Each exercise is one file here with a `// TODO:` where you edit. Check one
//! with the command its doc comment gives, for example:
//!
//! ```text
//! cargo test -p step-01-socket --test exercises exercise_syn_segment -- --ignored
//! ```
//!
//! The reference solutions are in `solutions/`; `--features solutions` builds
//! them instead of your files.

use std::net::{Ipv4Addr, SocketAddrV4};

/// The server of the workbook's exchange: 127.0.0.1:50000.
pub const SERVER: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 50000);
/// The client of the workbook's exchange: 127.0.0.2:50001.
pub const CLIENT: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50001);

#[cfg(not(feature = "solutions"))]
pub mod syn_segment;
#[cfg(feature = "solutions")]
#[path = "solutions/syn_segment.rs"]
pub mod syn_segment;

#[cfg(not(feature = "solutions"))]
pub mod find_segment;
#[cfg(feature = "solutions")]
#[path = "solutions/find_segment.rs"]
pub mod find_segment;

#[cfg(not(feature = "solutions"))]
pub mod read_one_packet;
#[cfg(feature = "solutions")]
#[path = "solutions/read_one_packet.rs"]
pub mod read_one_packet;
