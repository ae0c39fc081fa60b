//! FAQ 13: each registration has its own interest mask.
//!
//! EPOLL_CTL_ADD sets it, EPOLL_CTL_MOD replaces it, EPOLL_CTL_DEL removes the
//! registration. A wait reports only what the mask asks for (plus EPOLLERR and
//! EPOLLHUP, which are always reported), whatever else the fd could do.

mod common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{SOON, ready};
use step_03_epoll::{EventSet, Flags};

#[test]
fn events_follow_the_mask_through_add_mod_and_del() {
    // A socket with data queued is readable *and* writable all along.
    let (socket, mut peer) = UnixStream::pair().expect("socketpair");
    peer.write_all(b"Hello server").expect("write");
    let set = EventSet::new().expect("epoll_create1");

    set.add(&socket, 7, Flags::EPOLLIN).expect("ADD EPOLLIN");
    assert_eq!(ready(&set, SOON), [(7, "EPOLLIN".to_owned())]);

    set.modify(&socket, 7, Flags::EPOLLOUT)
        .expect("MOD to EPOLLOUT");
    assert_eq!(ready(&set, SOON), [(7, "EPOLLOUT".to_owned())]);

    set.modify(&socket, 7, Flags::EPOLLIN | Flags::EPOLLOUT)
        .expect("MOD to both");
    assert_eq!(ready(&set, SOON), [(7, "EPOLLIN|EPOLLOUT".to_owned())]);

    set.delete(&socket).expect("DEL");
    assert_eq!(ready(&set, Duration::from_millis(10)), []);
}
