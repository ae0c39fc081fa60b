//! FAQ 10: which file descriptors can epoll watch?
//!
//! Anything whose kernel driver can say "not ready yet" and wake a waiter
//! later: sockets, socketpairs, pipes and FIFOs, timerfd, signalfd, eventfd,
//! POSIX message queues. Not regular files or shared memory: their data is
//! always there, so they have no readiness to wait for, and
//! `epoll_ctl(EPOLL_CTL_ADD)` refuses them with EPERM. (The tutorial lists
//! "files" and "shared_memory" among the watchable.)

mod common;

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{NOW, SOON, ready};
use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::memfd::{MFdFlags, memfd_create};
use nix::sys::signal::{Signal, raise};
use nix::sys::stat::Mode;
use step_03_epoll::{EventSet, Flags, Signals, Timer};
use testkit::temp_path;

const TOKEN: u64 = 10;

/// `epoll_ctl(ADD, fd, EPOLLIN)` on a fresh set: the errno if it fails.
fn add_error(fd: impl AsFd) -> Option<Errno> {
    let set = EventSet::new().expect("epoll_create1");
    set.add(fd, TOKEN, Flags::EPOLLIN).err().map(|e| e.errno)
}

/// Registers `fd` for EPOLLIN, checks it is not ready, calls `make_ready`, and
/// checks that the next wait reports it readable: the fd is really watched.
fn assert_watched(fd: impl AsFd, make_ready: impl FnOnce()) {
    let set = EventSet::new().expect("epoll_create1");
    set.add(fd, TOKEN, Flags::EPOLLIN)
        .expect("epoll_ctl(ADD) accepts it");
    assert_eq!(ready(&set, NOW), [], "nothing is ready before make_ready");
    make_ready();
    assert_eq!(ready(&set, SOON), [(TOKEN, "EPOLLIN".to_owned())]);
}

#[test]
fn epoll_ctl_on_regular_file_is_eperm() {
    let path = temp_path("regular-file");
    let mut file = File::create(&path).expect("create a regular file");
    std::fs::remove_file(&path).expect("unlink it; the open file stays");
    file.write_all(b"Hello server").expect("write");
    assert_eq!(add_error(&file), Some(Errno::EPERM));
}

#[test]
fn epoll_ctl_on_memfd_shared_memory_is_eperm() {
    let memfd =
        memfd_create(c"step-03-epoll", MFdFlags::MFD_CLOEXEC).expect("memfd_create");
    assert_eq!(add_error(&memfd), Some(Errno::EPERM));
}

#[test]
fn epoll_ctl_on_posix_shared_memory_is_eperm() {
    let name = CString::new(format!("/step-03-epoll-{}", std::process::id()))
        .expect("no NUL in the name");
    // SAFETY: name is a NUL-terminated string; shm_open returns a new fd or -1.
    let raw = unsafe {
        libc::shm_open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600,
        )
    };
    let raw = Errno::result(raw).expect("shm_open");
    // SAFETY: shm_open just returned this fd, and nothing else owns it.
    let shm = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: the same NUL-terminated name; the object goes when the fd closes.
    unsafe { libc::shm_unlink(name.as_ptr()) };
    assert_eq!(add_error(&shm), Some(Errno::EPERM));
}

#[test]
fn epoll_watches_a_socketpair() {
    let (watched, mut peer) = UnixStream::pair().expect("socketpair");
    assert_watched(&watched, || peer.write_all(b"Hello server").expect("write"));
}

#[test]
fn epoll_watches_a_pipe() {
    let (reader, writer) = nix::unistd::pipe().expect("pipe");
    assert_watched(&reader, || {
        nix::unistd::write(&writer, b"Hello server").expect("write");
    });
}

#[test]
fn epoll_watches_a_fifo() {
    let path = temp_path("fifo");
    nix::unistd::mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo");
    // O_RDWR: the FIFO then has a reader and a writer, so open does not wait.
    let fifo = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&path)
        .expect("open the FIFO");
    std::fs::remove_file(&path).expect("unlink the FIFO");
    assert_watched(&fifo, || (&fifo).write_all(b"Hello server").expect("write"));
}

#[test]
fn epoll_watches_a_timerfd() {
    let timer = Timer::new().expect("timerfd_create");
    assert_watched(&timer, || {
        timer.arm_once(Duration::from_millis(1)).expect("arm");
    });
}

#[test]
fn epoll_watches_a_signalfd() {
    // Blocks SIGUSR2 on this test's thread only; raise() sends to this thread.
    let signals = Signals::new(&[Signal::SIGUSR2]).expect("signalfd");
    assert_watched(&signals, || raise(Signal::SIGUSR2).expect("raise"));
    assert_eq!(signals.read().expect("read"), Some(Signal::SIGUSR2));
}

#[test]
fn epoll_watches_an_eventfd() {
    let eventfd = EventFd::from_value_and_flags(
        0,
        EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK,
    )
    .expect("eventfd");
    assert_watched(&eventfd, || {
        eventfd.write(1).expect("write");
    });
}

#[test]
fn epoll_watches_a_posix_message_queue() {
    let name = CString::new(format!("/step-03-epoll-{}", std::process::id()))
        .expect("no NUL in the name");
    // SAFETY: name is NUL-terminated; a null attr asks for the default limits;
    // the mode argument is the one mq_open reads with O_CREAT.
    let mq = unsafe {
        libc::mq_open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NONBLOCK,
            0o600 as libc::mode_t,
            std::ptr::null_mut::<libc::mq_attr>(),
        )
    };
    let mq = Errno::result(mq).expect("mq_open");
    // SAFETY: the same NUL-terminated name; the queue goes when mq closes.
    unsafe { libc::mq_unlink(name.as_ptr()) };
    // SAFETY: on Linux a message queue descriptor is a file descriptor, just
    // returned by mq_open and owned by nothing else.
    let mq = unsafe { OwnedFd::from_raw_fd(mq) };
    assert_watched(&mq, || {
        let message = b"Hello server";
        // SAFETY: mq is open; the pointer and length describe `message`.
        let sent = unsafe {
            libc::mq_send(
                std::os::fd::AsRawFd::as_raw_fd(&mq),
                message.as_ptr().cast(),
                message.len(),
                0,
            )
        };
        Errno::result(sent).expect("mq_send");
    });
}
