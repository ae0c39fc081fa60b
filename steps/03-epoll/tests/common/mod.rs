//! Helpers shared by the test files (each file uses some of them): what one
//! `epoll_wait` returns, as text, and how long to wait for it. (The helpers
//! every step's tests share are in `testkit`.)
#![allow(dead_code)]

use std::time::Duration;

use step_03_epoll::{Event, EventSet, describe};

/// One `epoll_wait` of at most `timeout`: each ready registration as its token
/// and the names of its flags, in the order the kernel returned them.
pub fn ready(set: &EventSet, timeout: Duration) -> Vec<(u64, String)> {
    let mut events = [Event::empty(); 8];
    let n = set.wait(&mut events, Some(timeout)).expect("epoll_wait");
    events[..n]
        .iter()
        .map(|event| (event.data(), describe(event.events())))
        .collect()
}

/// A wait long enough for anything already ready, in tests where something is.
pub const SOON: Duration = Duration::from_secs(1);

/// A wait that ends at once: what is ready now.
pub const NOW: Duration = Duration::ZERO;
