//! What every step program needs and no chapter is about.
//!
//! The step crates hold the lessons: raw sockets and packets (step 1), bind
//! and connect (2), epoll (3), the echo (4), the BPF filter (5). This crate
//! holds the rest, which each of them uses:
//! - [`program`]: the prologue every `main` starts with (a write to a closed
//!   pipe ends the program quietly; the private network namespace entered,
//!   or the reason it cannot be, with the remedies), and how a program ends
//!   on an error;
//! - [`netns`]: that private network namespace, a network of its own with
//!   only `lo`, where an ordinary user holds CAP_NET_RAW;
//! - [`privileges`]: the drop from root to the user who ran sudo, once the
//!   sockets are open;
//! - [`pcap`]: the pcap writer and the kernel's arrival times, for `--pcap`;
//! - [`advice`]: the likely cause of a failed call, and its remedy;
//! - [`args`]: the command line's usage errors worded alike, and the checks
//!   of its values (steps 4 and 5, on lexopt);
//! - [`Error`]: what can go wrong here, a failed system call with its errno
//!   apart from a bad value or an I/O error, which have none.

pub mod advice;
pub mod args;
pub mod error;
pub mod netns;
pub mod pcap;
pub mod privileges;
pub mod program;

pub use error::Error;
