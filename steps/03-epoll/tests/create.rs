//! `epoll_create1` takes flags, not a size.
//!
//! The tutorial calls the argument of `epoll_create1` "an advisory hint for the
//! number of file descriptors". That was `epoll_create(size)`, whose size the
//! kernel ignores since Linux 2.6.8 (it must only be positive);
//! `epoll_create1(flags)` takes 0 or EPOLL_CLOEXEC and rejects anything else.

use std::os::fd::{AsFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use step_03_epoll::EventSet;

/// Whether the close-on-exec flag (FD_CLOEXEC) is set on `fd`.
fn cloexec(fd: impl AsFd) -> bool {
    let flags = fcntl(fd, FcntlArg::F_GETFD).expect("fcntl(F_GETFD)");
    FdFlag::from_bits_truncate(flags).contains(FdFlag::FD_CLOEXEC)
}

#[test]
fn epoll_create1_with_epoll_cloexec_sets_fd_cloexec() {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll_create1");
    assert!(cloexec(&epoll.0));
    // EventSet::new passes EPOLL_CLOEXEC, so a program it execs does not
    // inherit the epoll fd.
    let set = EventSet::new().expect("epoll_create1");
    assert!(cloexec(&set));
}

#[test]
fn epoll_create1_with_flags_0_leaves_fd_cloexec_clear() {
    let epoll = Epoll::new(EpollCreateFlags::empty()).expect("epoll_create1(0)");
    assert!(!cloexec(&epoll.0));
}

#[test]
fn epoll_create1_rejects_any_other_flag_with_einval() {
    // Not a size: 1 or 10 (the "number of fds expected") are invalid flags.
    for flags in [1, 10, libc::O_NONBLOCK] {
        // SAFETY: epoll_create1 takes an int and returns a new fd or -1.
        let ret = unsafe { libc::epoll_create1(flags) };
        assert_eq!(Errno::result(ret), Err(Errno::EINVAL), "flags {flags:#x}");
    }
}

/// The old `epoll_create(size)`, as an owned fd.
fn epoll_create(size: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: epoll_create takes an int and returns a new fd or -1.
    let ret = Errno::result(unsafe { libc::epoll_create(size) })?;
    // SAFETY: the fd was just returned to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

#[test]
fn epoll_create_ignores_its_size_hint() {
    // A "size" of 1, then three registrations: the size limited nothing.
    let epoll = Epoll(epoll_create(1).expect("epoll_create(1)"));
    let pipes: Vec<_> = (0..3).map(|_| nix::unistd::pipe().expect("pipe")).collect();
    for (token, (reader, _writer)) in pipes.iter().enumerate() {
        epoll
            .add(reader, EpollEvent::new(EpollFlags::EPOLLIN, token as u64))
            .expect("epoll_ctl(ADD) beyond the size hint");
    }
}

#[test]
fn epoll_create_rejects_a_size_of_zero_or_less_with_einval() {
    assert_eq!(epoll_create(0).err(), Some(Errno::EINVAL));
    assert_eq!(epoll_create(-1).err(), Some(Errno::EINVAL));
}
