//! Exercise `second_client`: one server, two clients on one address.
//!
//! The server at 127.0.0.1:50000 now answers two clients: the workbook's
//! 127.0.0.2:50001 and [`SECOND_CLIENT`](super::SECOND_CLIENT),
//! 127.0.0.2:50002. Both share an address, so `bind()` and `connect()` let
//! both through; only the port tells them apart. Each client is a
//! conversation of its own, with its own sequence numbers: each gets a
//! [`Server`] machine, and the first reply to each is `seq 1:13`.
//!
//! What the combined server must do with a read:
//! - a request from either client gets a reply, to that client's port, from
//!   that client's machine;
//! - a RST between the server and either client is `kernel-rst`;
//! - anything else (other ports, other addresses) is still `foreign`.
//!
//! The code below only ever asks the first client's machine, so the second
//! client's requests come out as `foreign`. Edit it where the `TODO` says until
//! the check passes:
//!
//! ```text
//! cargo test -p step-04-echo --test exercises exercise_second_client -- --ignored
//! ```

use std::net::SocketAddrV4;

use crate::{Server, ServerEvent};

/// A server at one address and port, talking to two clients.
#[derive(Debug, Clone)]
pub struct TwoClients {
    first: Server,
    second: Server,
}

impl TwoClients {
    /// A server at `me` answering `first` and `second`.
    pub fn new(
        me: SocketAddrV4,
        first: SocketAddrV4,
        second: SocketAddrV4,
    ) -> TwoClients {
        TwoClients {
            first: Server::new(me, first),
            second: Server::new(me, second),
        }
    }

    /// Takes the bytes of one read (IPv4 header included) and says what to do.
    pub fn on_packet<'a>(&'a mut self, bytes: &'a [u8]) -> ServerEvent<'a> {
        // TODO: what the first client's machine finds `foreign` may be the
        // second client's: hand such a read to `self.second` before giving up.
        self.first.on_packet(bytes)
    }

    /// Each client's count: `127.0.0.2:50001: received 2 requests, ...`.
    pub fn summary(&self) -> String {
        format!(
            "{}: {}\n{}: {}",
            self.first.peer(),
            self.first.summary(),
            self.second.peer(),
            self.second.summary()
        )
    }
}
