//! FAQ 12: EINTR. When a signal handler runs while a thread waits in
//! `epoll_wait`, the wait fails with EINTR, and the kernel never restarts it,
//! SA_RESTART or not (signal(7)). A program must wait again, for the time that
//! is left: [`EventSet::wait`] does.
//!
//! These tests install a SIGUSR1 handler for the whole process, so they live in
//! a test binary of their own, and a lock keeps them from running at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{
    Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout,
};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::pipe;
use step_03_epoll::{Event, EventSet, Flags};

/// How many times the handler ran.
static HANDLED: AtomicUsize = AtomicUsize::new(0);
/// One test at a time: they share the handler and the counter.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

extern "C" fn on_sigusr1(_: libc::c_int) {
    // Async-signal-safe: one atomic add.
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

/// Takes the lock, installs the handler with `flags` and resets the counter.
fn install_handler(flags: SaFlags) -> MutexGuard<'static, ()> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let action =
        SigAction::new(SigHandler::Handler(on_sigusr1), flags, SigSet::empty());
    // SAFETY: the handler only touches an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGUSR1, &action) }.expect("sigaction(SIGUSR1)");
    HANDLED.store(0, Ordering::SeqCst);
    guard
}

/// A thread that sends SIGUSR1 to the calling thread every 50 ms until the
/// returned flag is set: a single signal could come before the wait starts.
fn interrupt_me() -> (Arc<AtomicBool>, JoinHandle<()>) {
    // SAFETY: pthread_self has no preconditions.
    let target = unsafe { libc::pthread_self() };
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let handle = thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(50));
            // SAFETY: the target thread joins this one before it ends, so its
            // pthread_t is still valid; SIGUSR1 has a handler installed.
            unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
        }
    });
    (done, handle)
}

/// A raw `epoll_wait` (nix's thin wrapper) on a set where nothing gets ready,
/// while SIGUSR1 interrupts it.
fn raw_wait_while_interrupted() -> Result<usize, Errno> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    epoll
        .add(&reader, EpollEvent::new(EpollFlags::EPOLLIN, 1))
        .expect("ADD");
    let mut events = [EpollEvent::empty(); 4];
    let (done, helper) = interrupt_me();
    // Five seconds at most: the test must not hang if the claim is false.
    let result = epoll.wait(&mut events, EpollTimeout::from(5000u16));
    done.store(true, Ordering::SeqCst);
    helper.join().expect("helper thread");
    result
}

#[test]
fn epoll_wait_fails_with_eintr_when_a_handler_runs() {
    let _lock = install_handler(SaFlags::empty());
    assert_eq!(raw_wait_while_interrupted(), Err(Errno::EINTR));
    assert!(HANDLED.load(Ordering::SeqCst) >= 1);
}

#[test]
fn epoll_wait_fails_with_eintr_even_with_sa_restart() {
    let _lock = install_handler(SaFlags::SA_RESTART);
    assert_eq!(raw_wait_while_interrupted(), Err(Errno::EINTR));
    assert!(HANDLED.load(Ordering::SeqCst) >= 1);
}

#[test]
fn event_set_wait_retries_eintr_and_waits_the_whole_timeout() {
    let _lock = install_handler(SaFlags::empty());
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN).expect("ADD");
    let mut events = [Event::empty(); 4];
    let timeout = Duration::from_millis(300);
    let (done, helper) = interrupt_me();
    let start = Instant::now();
    let result = set.wait(&mut events, Some(timeout));
    let elapsed = start.elapsed();
    done.store(true, Ordering::SeqCst);
    helper.join().expect("helper thread");
    assert_eq!(result, Ok(0), "a timeout, not an error");
    assert!(elapsed >= timeout, "returned after {elapsed:?}");
    assert!(
        HANDLED.load(Ordering::SeqCst) >= 1,
        "the wait was interrupted on the way"
    );
}
