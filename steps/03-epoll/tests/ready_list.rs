//! FAQ 14 and 15: what a wait returns.
//!
//! `epoll_wait` returns n, the number of ready registrations it wrote into the
//! events array, each with its token and flags. A loop must look at all n (the
//! tutorial's programs look at `events[0]` only), and at EPOLLHUP and
//! EPOLLERR, which come whether asked for or not. 0 means the timeout passed
//! with nothing ready.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{NOW, SOON, ready};
use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::unistd::{pipe, read, write};
use step_03_epoll::{Event, EventSet, Flags};

#[test]
fn epoll_wait_returns_0_when_the_timeout_passes_with_nothing_ready() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, _writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN).expect("ADD");
    let mut events = [Event::empty(); 8];
    let start = Instant::now();
    let n = set
        .wait(&mut events, Some(Duration::from_millis(10)))
        .expect("epoll_wait");
    assert_eq!(n, 0);
    assert!(start.elapsed() >= Duration::from_millis(10));
}

/// Three fds of three kinds, all made readable before one wait.
struct ThreeReady {
    set: EventSet,
    _fds: (EventFd, std::os::fd::OwnedFd, UnixStream),
    _writers: (std::os::fd::OwnedFd, UnixStream),
}

fn three_ready() -> ThreeReady {
    let set = EventSet::new().expect("epoll_create1");
    let eventfd =
        EventFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK).expect("eventfd");
    let (reader, writer) = pipe().expect("pipe");
    let (socket, mut peer) = UnixStream::pair().expect("socketpair");
    set.add(&eventfd, 1, Flags::EPOLLIN).expect("ADD eventfd");
    set.add(&reader, 2, Flags::EPOLLIN).expect("ADD pipe");
    set.add(&socket, 3, Flags::EPOLLIN).expect("ADD socket");
    eventfd.write(1).expect("write eventfd");
    write(&writer, b"Hello server").expect("write pipe");
    peer.write_all(b"Hello server").expect("write socket");
    ThreeReady {
        set,
        _fds: (eventfd, reader, socket),
        _writers: (writer, peer),
    }
}

#[test]
fn one_wait_reports_every_ready_fd() {
    let three = three_ready();
    let mut events = [Event::empty(); 8];
    let n = three.set.wait(&mut events, Some(SOON)).expect("epoll_wait");
    assert_eq!(n, 3, "all three in one wait");
    let tokens: BTreeSet<u64> = events[..n].iter().map(|e| e.data()).collect();
    assert_eq!(tokens, BTreeSet::from([1, 2, 3]));
}

#[test]
fn a_short_events_array_leaves_the_rest_for_the_next_wait() {
    let three = three_ready();
    let mut two = [Event::empty(); 2];
    let n = three.set.wait(&mut two, Some(SOON)).expect("epoll_wait");
    assert_eq!(n, 2, "no more than the array holds");
    let first: BTreeSet<u64> = two.iter().map(|e| e.data()).collect();
    // Level-triggered, the two reported go to the back of the ready list: the
    // next wait starts with the one left over.
    let n = three.set.wait(&mut two, Some(SOON)).expect("epoll_wait");
    let next: BTreeSet<u64> = two[..n].iter().map(|e| e.data()).collect();
    let all: BTreeSet<u64> = first.union(&next).copied().collect();
    assert_eq!(all, BTreeSet::from([1, 2, 3]));
}

#[test]
fn closing_the_write_end_of_a_pipe_gives_epollhup() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN)
        .expect("ADD for EPOLLIN only");
    write(&writer, b"Hello server").expect("write");
    drop(writer);
    // Not asked for, reported anyway: no writer is left.
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN|EPOLLHUP".to_owned())]);
    let mut buf = [0u8; 64];
    assert_eq!(read(&reader, &mut buf), Ok(12));
    // Drained: EPOLLHUP alone, and a read returns 0 (end of file).
    assert_eq!(ready(&set, SOON), [(1, "EPOLLHUP".to_owned())]);
    assert_eq!(read(&reader, &mut buf), Ok(0));
}

#[test]
fn closing_the_read_end_of_a_pipe_gives_epollerr_unasked() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, writer) = pipe().expect("pipe");
    // A write end is never readable: this mask asks for nothing it can give.
    set.add(&writer, 1, Flags::EPOLLIN)
        .expect("ADD for EPOLLIN only");
    // Writable, but EPOLLOUT was not asked for: nothing to report.
    assert_eq!(ready(&set, NOW), []);
    drop(reader);
    // Not asked for, reported anyway: no reader is left, so a write can only
    // fail. The pending error is the fd's, and epoll says so.
    assert_eq!(ready(&set, SOON), [(1, "EPOLLERR".to_owned())]);
    // The error itself: EPIPE (Rust ignores SIGPIPE, which would kill a C
    // program here).
    assert_eq!(write(&writer, b"Hello server"), Err(Errno::EPIPE));
}

#[test]
fn a_peer_shutdown_gives_epollrdhup_when_asked_for() {
    let (socket, peer) = UnixStream::pair().expect("socketpair");
    let asks = EventSet::new().expect("epoll_create1");
    asks.add(&socket, 1, Flags::EPOLLIN | Flags::EPOLLRDHUP)
        .expect("ADD EPOLLIN|EPOLLRDHUP");
    let does_not_ask = EventSet::new().expect("epoll_create1");
    does_not_ask
        .add(&socket, 2, Flags::EPOLLIN)
        .expect("ADD EPOLLIN");
    assert_eq!(ready(&asks, NOW), []);

    peer.shutdown(Shutdown::Write).expect("shutdown(SHUT_WR)");
    assert_eq!(ready(&asks, SOON), [(1, "EPOLLIN|EPOLLRDHUP".to_owned())]);
    // Without EPOLLRDHUP the same end of stream looks like data to read...
    assert_eq!(ready(&does_not_ask, SOON), [(2, "EPOLLIN".to_owned())]);
    // ...until the read returns 0.
    let mut buf = [0u8; 16];
    assert_eq!((&socket).read(&mut buf).expect("read"), 0);
}
