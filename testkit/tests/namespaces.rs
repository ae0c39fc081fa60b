//! Why a test cannot enter a user namespace by itself.
//!
//! The kernel gives a new user namespace only to a process with one thread
//! (user_namespaces(7)): a process whose threads were in different user
//! namespaces would make no sense. A libtest process always has at least two
//! threads, the main one and the one running the test, so a test that calls
//! `unshare(CLONE_NEWUSER)` gets EINVAL. That is why
//! `testkit::in_private_network` re-runs the test in a child that unshares
//! between fork and exec, and why the step programs enter their namespace
//! first thing in `main`.

use std::sync::mpsc::channel;

use nix::errno::Errno;
use nix::sched::{CloneFlags, unshare};

#[test]
fn unshare_newuser_in_a_multithreaded_process_is_einval() {
    // One more thread, kept alive until after the call, so the process
    // certainly has several whatever libtest does.
    let (stop, stopped) = channel::<()>();
    let other = std::thread::spawn(move || stopped.recv());
    let result = unshare(CloneFlags::CLONE_NEWUSER);
    drop(stop);
    let _ = other.join();
    assert_eq!(result, Err(Errno::EINVAL));
}
