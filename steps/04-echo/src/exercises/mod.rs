//! Exercises for step 4: new behaviour for the server and the client machines,
//! checked by snapshots of the segments they build and the decisions they make.
//!
//! Each exercise is one file here with a `// TODO:` where to edit. The
//! reference solutions live in `solutions/` and replace the starters when the
//! crate is built with `--features solutions`. Check one exercise with
//!
//! ```text
//! cargo test -p step-04-echo --test exercises exercise_<name> -- --ignored
//! ```
//!
//! - [`reversed_reply`](crate::exercises::reversed_reply): a server that
//!   answers with the request's payload reversed, and advances its sequence
//!   number by what it really sent.
//! - [`second_client`](crate::exercises::second_client): a server that answers
//!   a second client on port 50002 of the same address, each client in its own
//!   sequence space.
//! - [`match_by_ack`](crate::exercises::match_by_ack): the client's
//!   bookkeeping: which request a reply answers, found by its acknowledgment
//!   number, and each answered once.
//!
//! The binary does not use any of this: `Server` and `Client` stay as they are.

use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::SeqNumber;

#[cfg(not(feature = "solutions"))]
pub mod reversed_reply;
#[cfg(feature = "solutions")]
#[path = "solutions/reversed_reply.rs"]
pub mod reversed_reply;

#[cfg(not(feature = "solutions"))]
pub mod second_client;
#[cfg(feature = "solutions")]
#[path = "solutions/second_client.rs"]
pub mod second_client;

#[cfg(not(feature = "solutions"))]
pub mod match_by_ack;
#[cfg(feature = "solutions")]
#[path = "solutions/match_by_ack.rs"]
pub mod match_by_ack;

/// The second client of [`second_client`]: the first client's address,
/// another port. `bind()` and `connect()` cannot tell the two apart.
pub const SECOND_CLIENT: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50002);

/// The sequence number each side starts at, as in the binary.
pub const ISN: SeqNumber = SeqNumber(1);
