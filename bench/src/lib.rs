//! The workbook's bench: what a round trip of each echo costs, next to the
//! kernel's own TCP doing the same job, measured in one run on one machine.
//!
//! Each echo is measured as the learner runs it: step 4's `Server` and
//! `Client` machines, driven by step 4's `Echo` loop, with nothing printed
//! (see [`raw`]). Each configuration is one echo ([`ROWS`](rows::ROWS)) at one payload
//! size ([`SIZES`](figures::SIZES)). Both ends run in this process: the server on a thread of
//! its own, the client on the calling thread, each with its own epoll set, as
//! the tutorial's two terminals would. The client sends one request, waits
//! for its reply, and sends the next: one request in flight, so a round
//! trip's time is the latency of the whole path, user space, system calls,
//! `lo` and the scheduler included. The configurations take turns, in
//! [`PASSES`](rows::PASSES) passes.
//!
//! - [`rows`]: the echoes measured, and the ratios printed;
//! - [`figures`]: what is measured, and how it is printed: the table, JSON
//!   Lines, the ratios;
//! - [`raw`]: the raw echoes, through step 4's loop; [`kernel`]: the
//!   yardstick, a `SOCK_STREAM` echo on 127.0.0.1;
//! - [`chart`]: the figures as an SVG bar chart, for the book;
//! - [`options`]: the command line.

pub mod chart;
pub mod figures;
pub mod kernel;
pub mod options;
pub mod raw;
pub mod rows;
