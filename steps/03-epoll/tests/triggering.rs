//! Level- and edge-triggered waits, and what a registration belongs to.
//!
//! By default epoll is level-triggered: a wait reports an fd for as long as it
//! *is* ready, so unread data is reported again and again. With EPOLLET it is
//! edge-triggered: reported when it *becomes* ready (new data arrives), once;
//! a reader must then drain the fd until EAGAIN, or the rest waits unnoticed.
//!
//! A registration belongs to the open file description (the kernel's `struct
//! file`), keyed by the fd number it was added under. close() of that number
//! does not remove it while a dup keeps the file open.

mod common;

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use common::{SOON, ready};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::{pipe, read, write};
use step_03_epoll::{EventSet, Flags};

const QUICK: Duration = Duration::from_millis(10);

#[test]
fn level_triggered_reports_unread_data_again() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN).expect("ADD");
    write(&writer, b"Hello server").expect("write");
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN".to_owned())]);
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN".to_owned())], "again");
    let mut hello = [0u8; 5];
    assert_eq!(read(&reader, &mut hello), Ok(5));
    assert_eq!(
        ready(&set, SOON),
        [(1, "EPOLLIN".to_owned())],
        "7 bytes left"
    );
    let mut rest = [0u8; 64];
    assert_eq!(read(&reader, &mut rest), Ok(7));
    assert_eq!(ready(&set, QUICK), [], "drained: no longer ready");
}

#[test]
fn edge_triggered_reports_data_once_until_more_arrives() {
    let set = EventSet::new().expect("epoll_create1");
    let (reader, writer) = pipe().expect("pipe");
    set.add(&reader, 1, Flags::EPOLLIN | Flags::EPOLLET)
        .expect("ADD EPOLLIN|EPOLLET");
    write(&writer, b"Hello server").expect("write");
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN".to_owned())]);
    // Nothing was read, yet the next wait times out: no new edge.
    assert_eq!(ready(&set, QUICK), []);
    write(&writer, b"Hello server").expect("write more");
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN".to_owned())], "a new edge");
    // Both writes were waiting all along.
    let mut buf = [0u8; 64];
    assert_eq!(read(&reader, &mut buf), Ok(24));
}

/// A pipe whose read end was registered as `token` under an fd number that is
/// then closed, while a dup of it stays open. Returns the set, the closed
/// number, the dup and the write end.
fn registered_then_closed(
    token: u64,
    floor: i32,
) -> (EventSet, i32, OwnedFd, OwnedFd) {
    let set = EventSet::new().expect("epoll_create1");
    let (dup, writer) = pipe().expect("pipe");
    // Register a copy at fd `floor` or above, a range no other test of this
    // file uses (each caller has its own floor: two tests running at once must
    // not be handed each other's closed number).
    let raw = fcntl(&dup, FcntlArg::F_DUPFD_CLOEXEC(floor)).expect("dup");
    // SAFETY: fcntl just returned this fd and nothing else owns it.
    let registered = unsafe { OwnedFd::from_raw_fd(raw) };
    set.add(&registered, token, Flags::EPOLLIN).expect("ADD");
    drop(registered);
    (set, raw, dup, writer)
}

#[test]
fn closing_a_registered_fd_that_was_duped_keeps_its_events() {
    let (set, _closed, dup, writer) = registered_then_closed(1, 700);
    write(&writer, b"Hello server").expect("write");
    // The fd number is closed, but the file is still open through the dup.
    assert_eq!(ready(&set, SOON), [(1, "EPOLLIN".to_owned())]);
    // Once the last fd of the file closes, the registration goes with it.
    drop(dup);
    assert_eq!(ready(&set, QUICK), []);
}

#[test]
fn a_registration_whose_fd_was_closed_cannot_be_deleted() {
    let (set, closed, dup, _writer) = registered_then_closed(1, 800);
    // By the closed number: EBADF, there is no such fd.
    // SAFETY: the epoll fd is open; DEL ignores the (null) event.
    let ret = unsafe {
        libc::epoll_ctl(
            set.as_fd().as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            closed,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(Errno::result(ret), Err(Errno::EBADF));
    // By the dup: ENOENT, the key is (file, the closed number), not (file, dup).
    assert_eq!(set.delete(&dup).expect_err("DEL").errno, Errno::ENOENT);
}

/// The tutorial's loop: each wait, handle `events[0]` alone (drain it) and
/// wait again. Three pipes are ready at once. After five rounds: how many
/// events each wait returned, which tokens were handled, and how many bytes
/// still wait unread in the pipes.
fn first_event_only(interest: Flags) -> (Vec<usize>, Vec<u64>, usize) {
    let set = EventSet::new().expect("epoll_create1");
    let pipes: Vec<(OwnedFd, OwnedFd)> =
        (0..3).map(|_| pipe().expect("pipe")).collect();
    for (token, (reader, writer)) in (1u64..).zip(&pipes) {
        set.add(reader, token, interest).expect("ADD");
        write(writer, b"Hello server").expect("write");
    }
    let (mut counts, mut handled) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let seen = ready(&set, QUICK);
        counts.push(seen.len());
        let Some(&(token, _)) = seen.first() else {
            continue; // the wait timed out: nothing reported
        };
        let (reader, _) = &pipes[token as usize - 1];
        let mut buf = [0u8; 64];
        assert_eq!(read(reader, &mut buf), Ok(12), "drain token {token}");
        handled.push(token);
    }
    let mut unread = 0;
    for (reader, _) in &pipes {
        fcntl(reader, FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK)).expect("fl");
        let mut buf = [0u8; 64];
        unread += read(reader, &mut buf).unwrap_or(0);
    }
    (counts, handled, unread)
}

#[test]
fn edge_triggered_loop_reading_only_events_0_starves_the_other_fds() {
    // Edge-triggered: the first wait reports all three, the loop handles
    // one, and every later wait returns 0 events although the other two
    // pipes stay readable: their 24 bytes sit unread until new data arrives.
    let (counts, handled, unread) =
        first_event_only(Flags::EPOLLIN | Flags::EPOLLET);
    assert_eq!(counts, [3, 0, 0, 0, 0]);
    assert_eq!(handled.len(), 1, "handled {handled:?}");
    assert_eq!(unread, 24);
    // Level-triggered, the same loop is only slow: each wait reports the
    // pipes still unread, and one more is handled per round.
    let (counts, mut handled, unread) = first_event_only(Flags::EPOLLIN);
    assert_eq!(counts, [3, 2, 1, 0, 0]);
    handled.sort();
    assert_eq!(handled, [1, 2, 3]);
    assert_eq!(unread, 0);
}
