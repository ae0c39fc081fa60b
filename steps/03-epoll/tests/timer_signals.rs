//! The timerfd and the signalfd of [`Timer`] and [`Signals`]: two more fds for
//! one wait.

mod common;

use std::time::{Duration, Instant};

use common::{NOW, SOON, ready};
use nix::sys::signal::{SigSet, Signal, raise};
use step_03_epoll::{EventSet, Flags, Signals, Timer};

#[test]
fn a_timer_armed_once_is_readable_with_one_expiration() {
    let set = EventSet::new().expect("epoll_create1");
    let timer = Timer::new().expect("timerfd_create");
    set.add(&timer, 5, Flags::EPOLLIN).expect("ADD");
    let start = Instant::now();
    timer.arm_once(Duration::from_millis(20)).expect("arm");
    assert_eq!(ready(&set, SOON), [(5, "EPOLLIN".to_owned())]);
    assert!(start.elapsed() >= Duration::from_millis(20));
    assert_eq!(timer.expirations(), Ok(1));
    // Reading reset the count, and the timer is no longer readable.
    assert_eq!(timer.expirations(), Ok(0));
    assert_eq!(ready(&set, NOW), []);
}

#[test]
fn a_periodic_timer_counts_the_expirations_nobody_read() {
    let timer = Timer::new().expect("timerfd_create");
    timer.arm_every(Duration::from_millis(10)).expect("arm");
    std::thread::sleep(Duration::from_millis(35));
    let missed = timer.expirations().expect("read");
    assert!(
        missed >= 3,
        "{missed} expirations in 35 ms of a 10 ms timer"
    );
    timer.disarm().expect("disarm");
    assert_eq!(timer.expirations(), Ok(0), "disarming clears the count");
}

#[test]
fn signals_new_blocks_the_signal_and_the_signalfd_reads_it() {
    // Blocking is per thread: this test's thread, which raise() signals.
    let blocked = || {
        SigSet::thread_get_mask()
            .expect("pthread_sigmask")
            .contains(Signal::SIGUSR2)
    };
    assert!(!blocked());
    let signals = Signals::new(&[Signal::SIGUSR2]).expect("signalfd");
    assert!(blocked());
    let set = EventSet::new().expect("epoll_create1");
    set.add(&signals, 6, Flags::EPOLLIN).expect("ADD");

    // Unblocked, SIGUSR2 would end the process; blocked, it waits in the fd.
    raise(Signal::SIGUSR2).expect("raise");
    assert_eq!(ready(&set, SOON), [(6, "EPOLLIN".to_owned())]);
    assert_eq!(signals.read(), Ok(Some(Signal::SIGUSR2)));
    assert_eq!(signals.read(), Ok(None));
    assert_eq!(ready(&set, NOW), []);
}
