//! FAQ 11 and 12: the interest list, and the errors `epoll_ctl` reports.
//!
//! The kernel keeps an epoll set's registrations in a red-black tree keyed by
//! (open file, fd number) (fs/eventpoll.c), and the ready ones on a linked
//! list; there is no hash table (as the tutorial says). The key shows in the
//! errors: adding a key twice is EEXIST, changing or removing a key that is not
//! there is ENOENT, and an fd number that is not open is EBADF. The same file
//! under two fd numbers is two keys.

mod common;

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use common::{SOON, ready};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::{pipe, write};
use step_03_epoll::{EventSet, Flags};

#[test]
fn adding_the_same_fd_twice_is_eexist() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN).expect("first ADD");
    let error = set
        .add(&reader, 2, Flags::EPOLLOUT)
        .expect_err("second ADD");
    assert_eq!(error.errno, Errno::EEXIST);
    // Use MOD to change a registration, not a second ADD.
    set.modify(&reader, 2, Flags::EPOLLIN).expect("MOD");
}

#[test]
fn modifying_an_unregistered_fd_is_enoent() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    let error = set.modify(&reader, 1, Flags::EPOLLIN).expect_err("MOD");
    assert_eq!(error.errno, Errno::ENOENT);
}

#[test]
fn deleting_an_unregistered_fd_is_enoent() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN).expect("ADD");
    set.delete(&reader).expect("the first DEL");
    let error = set.delete(&reader).expect_err("a second DEL");
    assert_eq!(error.errno, Errno::ENOENT);
}

#[test]
fn epoll_ctl_on_a_closed_fd_is_ebadf() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    // A copy at fd 777 or above, which no other test of this file will be
    // handed while we use its number after closing it.
    let raw = fcntl(&reader, FcntlArg::F_DUPFD_CLOEXEC(777)).expect("dup");
    // SAFETY: fcntl just returned this fd and nothing else owns it.
    drop(unsafe { OwnedFd::from_raw_fd(raw) });
    // A closed fd cannot be borrowed in Rust, so call epoll_ctl as C does.
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 1,
    };
    for op in [
        libc::EPOLL_CTL_ADD,
        libc::EPOLL_CTL_MOD,
        libc::EPOLL_CTL_DEL,
    ] {
        // SAFETY: the epoll fd is open; event is a valid epoll_event.
        let ret =
            unsafe { libc::epoll_ctl(set.as_fd().as_raw_fd(), op, raw, &mut event) };
        assert_eq!(Errno::result(ret), Err(Errno::EBADF), "op {op}");
    }
}

#[test]
fn the_same_file_under_two_fd_numbers_is_two_registrations() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, writer) = pipe().expect("pipe");
    let copy = nix::unistd::dup(&reader).expect("dup");
    set.add(&reader, 1, Flags::EPOLLIN).expect("ADD the fd");
    set.add(&copy, 2, Flags::EPOLLIN)
        .expect("ADD its dup: no EEXIST");
    write(&writer, b"Hello server").expect("write");
    let mut tokens: Vec<u64> =
        ready(&set, SOON).into_iter().map(|(t, _)| t).collect();
    tokens.sort();
    assert_eq!(tokens, [1, 2], "one readable file, reported once per key");
}
