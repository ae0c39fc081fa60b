//! Step 3: one epoll set waits for the raw socket, a timer and the signals.
//!
//! - [`EventSet`] wraps `epoll_create1`, `epoll_ctl` (ADD, MOD, DEL) and
//!   `epoll_wait`, naming each call in its errors, and waits again with the time
//!   left when a signal handler interrupts it (EINTR).
//! - [`Timer`] is a timerfd: a clock that becomes readable when it expires.
//! - [`Signals`] is a signalfd: SIGINT and SIGTERM become readable events
//!   instead of killing the process.
//! - [`open_nonblocking`] is step 2's bound and connected raw socket, made
//!   non-blocking so that a drain stops at EAGAIN instead of waiting: the
//!   socket every later step registers with its epoll set.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::epoll::{
    Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout,
};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{
    ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags,
};
use std::net::SocketAddrV4;

use step_01_socket::{RawSocket, SysError};
use step_02_bind_connect::open_connected;

/// Exercises: an epoll loop's decisions as pure functions that build segments
/// (`--features solutions` swaps in the reference solutions).
pub mod exercises;

pub use nix::sys::epoll::{EpollEvent as Event, EpollFlags as Flags};

// ANCHOR: open_nonblocking
/// A raw TCP socket that reads only what `peer`'s address sends to `local`'s
/// address (step 2's `bind()` and `connect()`), non-blocking: a read with
/// nothing queued returns EAGAIN instead of waiting, because epoll does the
/// waiting.
pub fn open_nonblocking(
    local: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<RawSocket, SysError> {
    let socket = open_connected(local, peer)?;
    socket.set_nonblocking()?;
    Ok(socket)
}
// ANCHOR_END: open_nonblocking

/// The readiness names of an event mask: `EPOLLIN|EPOLLHUP`.
pub fn describe(flags: EpollFlags) -> String {
    let names = [
        (EpollFlags::EPOLLIN, "EPOLLIN"),
        (EpollFlags::EPOLLPRI, "EPOLLPRI"),
        (EpollFlags::EPOLLOUT, "EPOLLOUT"),
        (EpollFlags::EPOLLERR, "EPOLLERR"),
        (EpollFlags::EPOLLHUP, "EPOLLHUP"),
        (EpollFlags::EPOLLRDHUP, "EPOLLRDHUP"),
        (EpollFlags::EPOLLET, "EPOLLET"),
        (EpollFlags::EPOLLONESHOT, "EPOLLONESHOT"),
    ];
    let mut text: Vec<&str> = names
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    if text.is_empty() {
        text.push("none");
    }
    text.join("|")
}

// ANCHOR: event_set
/// An epoll instance: an interest list of (fd, events, token) in the kernel, and
/// a ready list that `epoll_wait` empties.
#[derive(Debug)]
pub struct EventSet {
    epoll: Epoll,
}

impl EventSet {
    // ANCHOR: create
    /// `epoll_create1(EPOLL_CLOEXEC)`. The argument is a set of flags, not the
    /// size hint of the old `epoll_create`.
    pub fn new() -> Result<EventSet, SysError> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
            .map_err(|e| SysError::new("epoll_create1(EPOLL_CLOEXEC)", e))?;
        Ok(EventSet { epoll })
    }
    // ANCHOR_END: create

    // ANCHOR: ctl
    /// `epoll_ctl(EPOLL_CTL_ADD)`: watch `fd` for `interest`; its events come
    /// back carrying `token`. EEXIST if the fd is already registered, EPERM for
    /// a regular file.
    pub fn add(
        &self,
        fd: impl AsFd,
        token: u64,
        interest: EpollFlags,
    ) -> Result<(), SysError> {
        let raw = fd.as_fd();
        self.epoll
            .add(raw, EpollEvent::new(interest, token))
            .map_err(|e| SysError::new(ctl_call("ADD", raw, interest), e))
    }

    /// `epoll_ctl(EPOLL_CTL_MOD)`: change what `fd` is watched for. ENOENT if it
    /// is not registered.
    pub fn modify(
        &self,
        fd: impl AsFd,
        token: u64,
        interest: EpollFlags,
    ) -> Result<(), SysError> {
        let raw = fd.as_fd();
        let mut event = EpollEvent::new(interest, token);
        self.epoll
            .modify(raw, &mut event)
            .map_err(|e| SysError::new(ctl_call("MOD", raw, interest), e))
    }

    /// `epoll_ctl(EPOLL_CTL_DEL)`: stop watching `fd`. Do it before the fd is
    /// closed: the registration belongs to the open file, which a `dup` keeps
    /// alive.
    pub fn delete(&self, fd: impl AsFd) -> Result<(), SysError> {
        let raw = fd.as_fd();
        self.epoll
            .delete(raw)
            .map_err(|e| SysError::new(ctl_call("DEL", raw, EpollFlags::empty()), e))
    }
    // ANCHOR_END: ctl

    // ANCHOR: wait
    /// `epoll_wait`: fills `events` with up to `events.len()` ready registrations
    /// and returns how many; 0 means `timeout` passed with nothing ready. `None`
    /// waits for ever.
    ///
    /// A signal handler interrupts the wait with EINTR (never restarted, whatever
    /// SA_RESTART says); this waits again for the time that is left.
    pub fn wait(
        &self,
        events: &mut [EpollEvent],
        timeout: Option<Duration>,
    ) -> Result<usize, SysError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = match deadline {
                None => EpollTimeout::NONE,
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Round up, so a wait never ends before its deadline; the
                    // kernel takes at most i32::MAX ms (about 24 days).
                    let millis = left.as_nanos().div_ceil(1_000_000);
                    EpollTimeout::try_from(millis).unwrap_or(EpollTimeout::MAX)
                }
            };
            match self.epoll.wait(events, left) {
                Ok(n) => return Ok(n),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(SysError::new("epoll_wait", e)),
            }
        }
    }
    // ANCHOR_END: wait
}

/// The epoll instance's own fd: it can itself be watched by another epoll set or
/// by `poll`, and it is closed when the `EventSet` is dropped.
impl AsFd for EventSet {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.0.as_fd()
    }
}

fn ctl_call(op: &str, fd: BorrowedFd<'_>, interest: EpollFlags) -> String {
    use std::os::fd::AsRawFd;
    if interest.is_empty() {
        format!("epoll_ctl(EPOLL_CTL_{op}, fd {})", fd.as_raw_fd())
    } else {
        format!(
            "epoll_ctl(EPOLL_CTL_{op}, fd {}, {})",
            fd.as_raw_fd(),
            describe(interest)
        )
    }
}
// ANCHOR_END: event_set

// ANCHOR: timer
/// A timerfd on the monotonic clock: readable once it has expired.
#[derive(Debug)]
pub struct Timer {
    fd: TimerFd,
}

impl Timer {
    /// A disarmed, non-blocking timer.
    pub fn new() -> Result<Timer, SysError> {
        let fd = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(|e| SysError::new("timerfd_create(CLOCK_MONOTONIC)", e))?;
        Ok(Timer { fd })
    }

    /// Expires once, `after` from now (a zero duration would disarm, so it is
    /// rounded up to one nanosecond).
    pub fn arm_once(&self, after: Duration) -> Result<(), SysError> {
        let after = after.max(Duration::from_nanos(1));
        self.fd
            .set(
                Expiration::OneShot(TimeSpec::from_duration(after)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(|e| SysError::new(format!("timerfd_settime({after:?})"), e))
    }

    /// Expires every `interval`, the first time `interval` from now.
    pub fn arm_every(&self, interval: Duration) -> Result<(), SysError> {
        let interval = interval.max(Duration::from_nanos(1));
        self.fd
            .set(
                Expiration::Interval(TimeSpec::from_duration(interval)),
                TimerSetTimeFlags::empty(),
            )
            .map_err(|e| {
                SysError::new(format!("timerfd_settime(every {interval:?})"), e)
            })
    }

    /// Stops the timer.
    pub fn disarm(&self) -> Result<(), SysError> {
        self.fd
            .unset()
            .map_err(|e| SysError::new("timerfd_settime(0)", e))
    }

    /// Reads how many times the timer expired since the last read (0 if it has
    /// not: the read would block). Reading makes it unreadable again.
    pub fn expirations(&self) -> Result<u64, SysError> {
        let mut count = [0u8; 8];
        match nix::unistd::read(self.fd.as_fd(), &mut count) {
            Ok(8) => Ok(u64::from_ne_bytes(count)),
            Ok(n) => Err(SysError::new(
                format!("read(timerfd) = {n} bytes"),
                Errno::EIO,
            )),
            Err(Errno::EAGAIN) => Ok(0),
            Err(e) => Err(SysError::new("read(timerfd)", e)),
        }
    }
}

impl AsFd for Timer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
// ANCHOR_END: timer

// ANCHOR: signals
/// A signalfd for a set of signals, blocked first so that they queue for the fd
/// instead of running their default action (which for SIGINT is to die).
#[derive(Debug)]
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks `signals` on the calling thread and opens a non-blocking signalfd
    /// for them. Call it before starting threads: they inherit the mask.
    pub fn new(signals: &[Signal]) -> Result<Signals, SysError> {
        let mut set = SigSet::empty();
        for signal in signals {
            set.add(*signal);
        }
        set.thread_block()
            .map_err(|e| SysError::new("pthread_sigmask(SIG_BLOCK)", e))?;
        let fd = SignalFd::with_flags(
            &set,
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .map_err(|e| SysError::new("signalfd", e))?;
        Ok(Signals { fd })
    }

    /// The next pending signal, or `None` when none is queued.
    pub fn read(&self) -> Result<Option<Signal>, SysError> {
        match self.fd.read_signal() {
            Ok(Some(info)) => Ok(Signal::try_from(info.ssi_signo as i32).ok()),
            Ok(None) => Ok(None),
            Err(e) => Err(SysError::new("read(signalfd)", e)),
        }
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
// ANCHOR_END: signals

// ANCHOR: unit_tests
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_each_flag_in_order() {
        let flags = EpollFlags::EPOLLHUP | EpollFlags::EPOLLIN;
        assert_eq!(describe(flags), "EPOLLIN|EPOLLHUP");
        assert_eq!(describe(EpollFlags::EPOLLRDHUP), "EPOLLRDHUP");
    }

    #[test]
    fn describe_of_no_flag_is_none() {
        assert_eq!(describe(EpollFlags::empty()), "none");
    }

    #[test]
    fn ctl_errors_name_the_operation_fd_and_mask() {
        let set = EventSet::new().expect("epoll_create1");
        let (reader, _writer) = nix::unistd::pipe().expect("pipe");
        set.add(&reader, 1, EpollFlags::EPOLLIN).expect("first ADD");
        let error = set
            .add(&reader, 1, EpollFlags::EPOLLIN)
            .expect_err("second ADD");
        use std::os::fd::AsRawFd;
        assert_eq!(
            error.to_string(),
            format!(
                "epoll_ctl(EPOLL_CTL_ADD, fd {}, EPOLLIN): EEXIST: File exists",
                reader.as_raw_fd()
            )
        );
    }
}
// ANCHOR_END: unit_tests
