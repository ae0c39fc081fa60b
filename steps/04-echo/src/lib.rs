//! Step 4: the tutorial's raw TCP echo, server and client, done right.
//!
//! The client sends `Hello server` in hand-built PSH|ACK segments; the server
//! answers each with `Hello client`, acknowledging the request's bytes; the
//! client matches each reply to its request by the acknowledgment number.
//!
//! Everything here is free of I/O, so it can be tested without privileges:
//! - [`args`] turns the command line into a [`Mode`] or a usage
//!   error (lexopt splits it into options and values, `support::args` words
//!   the errors);
//! - [`protocol`] holds the two plain state machines, [`Server`] and [`Client`]:
//!   bytes read and the time go in, typed events come out, with the segments
//!   to write among them, and the demo's lines as their `Display`;
//! - [`report`] says what the echo did: the demo prints it, the bench only
//!   notes the time;
//! - [`stats`] counts what each side ignored, and why;
//! - [`exercises`] holds the chapter's exercises; the binary does not use them.
//!
//! The exceptions to "free of I/O": [`echo_loop`] is the echo itself, raw
//! sockets, one epoll set, a timerfd and a signalfd driving these machines,
//! with [`capture`] recording its reads for `--pcap`; the binary
//! (`src/main.rs`) chooses what to run. Step 5 runs the same loop with sockets
//! it filtered, and the workspace's `workbook-bench` crate runs it with
//! nothing printed, to measure what a round trip costs.

pub mod args;
pub mod capture;
pub mod echo_loop;
/// Exercises: starters to edit, checked by `tests/exercises.rs`.
pub mod exercises;
pub mod protocol;
pub mod report;
pub mod stats;

pub use args::{Mode, UsageError};
pub use protocol::{
    Client, ClientConfig, ClientEvent, Ignored, Ignoring, Lost, Outgoing, Overdue,
    Resend, Server, ServerEvent,
};
pub use stats::{IgnoredCounts, Reason};
