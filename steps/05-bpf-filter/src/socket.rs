//! Handing a program to the kernel: `setsockopt(SO_ATTACH_FILTER)`, and the
//! options around it.
//!
//! Once a filter is attached, the kernel runs it on every packet for the
//! socket *before* queueing it. A packet the program rejects is freed right
//! there: it is never queued, so it never makes the socket readable, never
//! wakes an `epoll_wait`, and costs no `read()`.
//!
//! These calls work on any socket (background: socket(7), "SO_ATTACH_FILTER"):
//! a raw socket, or a Unix datagram socket in a test that needs no
//! privileges. They take anything that has a file descriptor.

use std::net::SocketAddrV4;
use std::os::fd::{AsFd, AsRawFd};

use nix::errno::Errno;
use nix::sys::socket::{self, MsgFlags};
use step_01_socket::SysError;

use crate::filter::{REJECT, echo_filter};
use crate::insn::Insn;

/// The filter options, typed with nix's own macro: it writes the
/// `setsockopt` call, its `unsafe` and the pointer and length of the value,
/// once for every option, so no code here does. (nix 0.32 has none of these
/// three.)
///
/// Private, because [`options::AttachFilter`]'s value, a `sock_fprog`, holds a
/// raw pointer to the instructions: [`attach`] is the only code that sets it,
/// always to a program that outlives the call.
mod options {
    // The macro calls itself and its setter half by their bare names.
    use nix::{setsockopt_impl, sockopt_impl};

    sockopt_impl!(
        /// `SO_ATTACH_FILTER`: a classic BPF program, which the kernel copies.
        AttachFilter,
        SetOnly,
        libc::SOL_SOCKET,
        libc::SO_ATTACH_FILTER,
        libc::sock_fprog
    );
    sockopt_impl!(
        /// `SO_DETACH_FILTER`: the int passed is not looked at.
        DetachFilter,
        SetOnly,
        libc::SOL_SOCKET,
        libc::SO_DETACH_FILTER,
        libc::c_int
    );
    sockopt_impl!(
        /// `SO_LOCK_FILTER`: a boolean, passed as an int.
        LockFilter,
        SetOnly,
        libc::SOL_SOCKET,
        libc::SO_LOCK_FILTER,
        bool
    );
}

// ANCHOR: attach
/// `setsockopt(SOL_SOCKET, SO_ATTACH_FILTER, &sock_fprog)`: from now on the
/// kernel runs `program` on every packet for `socket` and queues only those it
/// accepts. Replaces any filter attached before (unless it is locked).
///
/// The kernel checks the program first and refuses a bad one with EINVAL.
/// [`crate::check`] is stricter: besides the kernel's rules it refuses the
/// opcodes this crate does not run. Packets queued *before* this call were not
/// filtered: see [`drain_queued`].
pub fn attach(socket: &impl AsFd, program: &[Insn]) -> Result<(), SysError> {
    let call = format!(
        "setsockopt(SO_ATTACH_FILTER, {} instructions)",
        program.len()
    );
    // The length field has 16 bits. A longer program is far over the
    // kernel's limit (BPF_MAXINSNS, 4096, which a length of 65535 exceeds
    // too), so it is described as 65535 instructions: the kernel's EINVAL to
    // that is its answer to this program, and none is made up here.
    let len = u16::try_from(program.len()).unwrap_or(u16::MAX);
    let mut filter: Vec<libc::sock_filter> =
        program.iter().map(|&insn| insn.into()).collect();
    // `filter` holds at least `len` instructions and outlives the call; the
    // kernel copies them and keeps no pointer into our memory.
    let fprog = libc::sock_fprog {
        len,
        filter: filter.as_mut_ptr(),
    };
    socket::setsockopt(socket, options::AttachFilter, &fprog)
        .map_err(|e| SysError::new(call, e))
}
// ANCHOR_END: attach

// ANCHOR: lock
/// `setsockopt(SO_LOCK_FILTER, 1)`: the attached filter can no longer be
/// replaced or removed (both fail with EPERM) for as long as the socket
/// lives. Nothing can unlock it.
pub fn lock_filter(socket: &impl AsFd) -> Result<(), SysError> {
    socket::setsockopt(socket, options::LockFilter, &true)
        .map_err(|e| SysError::new("setsockopt(SO_LOCK_FILTER, 1)", e))
}
// ANCHOR_END: lock

/// `setsockopt(SO_DETACH_FILTER)`: removes the filter; the socket reads
/// everything again. ENOENT if none is attached, EPERM if it is locked.
pub fn detach(socket: &impl AsFd) -> Result<(), SysError> {
    socket::setsockopt(socket, options::DetachFilter, &0)
        .map_err(|e| SysError::new("setsockopt(SO_DETACH_FILTER)", e))
}

/// `getsockopt(SO_GET_FILTER)`: the classic program the kernel holds for
/// `socket`, as it was attached; empty when none is.
///
/// Unlike most options, the length here counts instructions, not bytes: a
/// first call with length 0 asks how many there are. That is why this one
/// calls `libc::getsockopt` itself: nix's getters pass a fixed-size value
/// whose length is its size in bytes, and check that the kernel wrote exactly
/// that many.
pub fn attached(socket: &impl AsFd) -> Result<Vec<Insn>, SysError> {
    let fd = socket.as_fd().as_raw_fd();
    let call = "getsockopt(SO_GET_FILTER)";
    let mut count: libc::socklen_t = 0;
    // SAFETY: the fd is open; with a length of 0 the kernel writes only the
    // count into `count` and nothing through the null buffer.
    let ret = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_GET_FILTER,
            std::ptr::null_mut(),
            &mut count,
        )
    };
    Errno::result(ret).map_err(|e| SysError::new(call, e))?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let empty = libc::sock_filter {
        code: 0,
        jt: 0,
        jf: 0,
        k: 0,
    };
    let mut filter = vec![empty; count as usize];
    // SAFETY: the fd is open; `filter` has room for `count` instructions, the
    // unit SO_GET_FILTER counts in, and the kernel writes at most that many
    // (EINVAL if the program grew in between).
    let ret = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_GET_FILTER,
            filter.as_mut_ptr().cast(),
            &mut count,
        )
    };
    Errno::result(ret).map_err(|e| SysError::new(call, e))?;
    filter.truncate(count as usize);
    Ok(filter.into_iter().map(Insn::from).collect())
}

// ANCHOR: drain
/// Reads and discards whatever is queued on `socket` now, without waiting;
/// returns how many packets that was.
///
/// The classic race of socket filters: a socket receives from the moment
/// `socket()` returns, and a filter attached later applies only to packets
/// that arrive after it. Whatever was queued in between is still there,
/// unfiltered. The remedy, as libpcap does it: [`attach`] a program that
/// rejects everything (one `ret #0`, [`crate::REJECT`]), drain, then attach
/// the real program. The count is exactly what was queued before any filter; every
/// packet read afterwards has passed the real program, and none that passes
/// it can have been drained. (Drained *after* the real program, a packet that
/// passed it in between would be thrown away with the stale ones.)
pub fn drain_queued(socket: &impl AsFd) -> Result<usize, SysError> {
    // A read from a raw socket dequeues a whole packet, however small the
    // buffer: the part that does not fit is dropped. Only the count matters.
    let flags = MsgFlags::MSG_DONTWAIT;
    let mut buf = [0u8; 64];
    let mut count = 0;
    loop {
        match socket::recv(socket.as_fd().as_raw_fd(), &mut buf, flags) {
            Ok(_) => count += 1,
            Err(Errno::EAGAIN) => return Ok(count),
            Err(Errno::EINTR) => {}
            Err(e) => {
                return Err(SysError::new("recv(MSG_DONTWAIT), draining", e));
            }
        }
    }
}
// ANCHOR_END: drain

// ANCHOR: filter_socket
/// Puts [`echo_filter`]`(me, peer)` on `socket`, a raw
/// socket bound to `me` and connected to `peer`, and locks it; returns how
/// many packets were queued before any filter, drained.
///
/// What arrived between `socket()` and now was queued unfiltered. First a
/// program that rejects everything, so that nothing more is queued; then the
/// queue is drained: exactly what came before any filter. From then on the
/// kernel runs the real program on every packet for this socket before it
/// queues it: what it rejects never wakes anybody up, and nothing that passes
/// it can have been drained. Locked, nothing, not even a bug of ours, can
/// swap or remove it.
pub fn filter_socket(
    socket: &impl AsFd,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<usize, SysError> {
    attach(socket, &[Insn::ret(REJECT)])?;
    let stale = drain_queued(socket)?;
    attach(socket, &echo_filter(me, peer))?;
    lock_filter(socket)?;
    Ok(stale)
}
// ANCHOR_END: filter_socket
