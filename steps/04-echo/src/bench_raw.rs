//! The raw echo as `bench` runs it: step 4's exchange with one request in
//! flight, at any payload size.
//!
//! Each read goes through the workbook's own code: `parse_received` (step 1),
//! `classify` by address and port (step 2), the payload and checksum checks of
//! `from_peer`; each segment is built by `data_segment` (step 2: `TcpRepr`
//! emitted, checksum filled in user space) and written with `send`; each end
//! waits in its own `EventSet` (step 3). Two things differ from the demo's
//! `Server` and `Client`: the server echoes the request's own bytes (so the
//! payload can be any size, not only `Hello server`), and nothing formats a
//! summary line, since nothing is printed per segment. Neither end resends:
//! on `lo`, with one request in flight, nothing is lost.
//!
//! [`run_machines`] runs the demo's own `Server` and `Client` instead, at 12
//! bytes (the only size they know): the same exchange, plus what they do for
//! the demo's output and for resends (a summary line per segment, the
//! requests and replies kept).

use std::net::SocketAddrV4;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use step_01_socket::{MAX_PACKET, RawSocket, Received, RecvError, SysError};
use step_01_socket::{SeqNumber, parse_received};
use step_02_bind_connect::{
    CLIENT, REQUEST, SERVER, Verdict, classify, data_segment, open_connected, send,
};
use step_03_epoll::{Event, EventSet, Flags};

use crate::bench::{PATIENCE, Prepare, Run, SOCKET, Watchdog};
use crate::protocol::{
    CLIENT_ISN, Client, ClientConfig, ClientEvent, Ignored, SERVER_ISN, Server,
    ServerOutcome,
};

/// Opens one end's raw socket as the demo does (bound to `me`, connected to
/// `peer`, non-blocking), then hands it to `prepare`.
fn open_end(
    me: SocketAddrV4,
    peer: SocketAddrV4,
    prepare: Option<&Prepare>,
) -> Result<RawSocket, SysError> {
    let socket = open_connected(me, peer)?;
    socket.set_nonblocking()?;
    if let Some(prepare) = prepare {
        prepare(&socket, me, peer)?;
    }
    Ok(socket)
}

/// `size` bytes of payload: `Hello server` over and over.
pub fn payload(size: usize) -> Vec<u8> {
    REQUEST.iter().copied().cycle().take(size).collect()
}

// ANCHOR: run
/// Runs `warm_up` round trips, then measures `count` more, with `size`-byte
/// payloads between 127.0.0.2:50001 (the client, on this thread) and
/// 127.0.0.1:50000 (the server, on a thread of its own).
pub fn run(
    size: usize,
    warm_up: u64,
    count: u64,
    prepare: Option<&Prepare>,
) -> Result<Run, SysError> {
    // Both sockets exist before the first request, so none is missed.
    let server_socket = open_end(SERVER, CLIENT, prepare)?;
    let client_socket = open_end(CLIENT, SERVER, prepare)?;
    let payload = payload(size);
    thread::scope(|scope| {
        let server = scope.spawn(|| serve(&server_socket, warm_up + count));
        let asked = ask(&client_socket, &payload, warm_up, count);
        let served = server.join().unwrap_or_else(|_| {
            Err(SysError::new("the server's thread panicked", Errno::EIO))
        });
        // The client's failure says more (the server then only timed out).
        let (mut run, (answered, rsts)) = (asked?, served?);
        (run.server_requests, run.server_rsts) = (answered, rsts);
        Ok(run)
    })
}
// ANCHOR_END: run

// ANCHOR: run_machines
/// [`run`] with step 4's own state machines at both ends, driven as the demo
/// drives them (less the timerfd it re-arms after each request, and the
/// printing): `Hello server`, `Hello client`, 12 bytes each way.
pub fn run_machines(warm_up: u64, count: u64) -> Result<Run, SysError> {
    let server_socket = open_end(SERVER, CLIENT, None)?;
    let client_socket = open_end(CLIENT, SERVER, None)?;
    thread::scope(|scope| {
        let server = scope.spawn(|| serve_machine(&server_socket, warm_up + count));
        let asked = ask_machine(&client_socket, warm_up, count);
        let served = server.join().unwrap_or_else(|_| {
            Err(SysError::new("the server's thread panicked", Errno::EIO))
        });
        let (mut run, (answered, rsts)) = (asked?, served?);
        (run.server_requests, run.server_rsts) = (answered, rsts);
        Ok(run)
    })
}
// ANCHOR_END: run_machines

/// Whether the machine ignored a segment as the kernel's RST.
fn is_reset(reason: &Ignored) -> bool {
    *reason == Ignored::Verdict(Verdict::KernelReset)
}

/// The demo's server loop, without its printing.
fn serve_machine(socket: &RawSocket, requests: u64) -> Result<(u64, u64), SysError> {
    let (events, mut watchdog) = watch(socket)?;
    let mut ready = [Event::empty(); 4];
    let mut buf = vec![0; MAX_PACKET];
    let mut server = Server::new(SERVER, CLIENT);
    let mut rsts = 0u64;
    while server.requests() < requests {
        watchdog.wait(&events, &mut ready, server.requests(), "request")?;
        while let Some(bytes) = read(socket, &mut buf)? {
            match server.on_packet(bytes) {
                ServerOutcome::Request { reply, .. }
                | ServerOutcome::Resent { reply, .. } => {
                    send(socket, &reply.segment)?
                }
                ServerOutcome::Ignored { reason, .. } if is_reset(&reason) => {
                    rsts += 1
                }
                ServerOutcome::Ignored { .. } => {}
            }
        }
    }
    Ok((server.requests(), rsts))
}

/// The demo's client loop in ping-pong mode, without its printing.
fn ask_machine(
    socket: &RawSocket,
    warm_up: u64,
    count: u64,
) -> Result<Run, SysError> {
    let (events, mut watchdog) = watch(socket)?;
    let mut ready = [Event::empty(); 4];
    let mut buf = vec![0; MAX_PACKET];
    let config = ClientConfig {
        count: Some(warm_up + count),
        interval: Duration::ZERO,
        timeout: PATIENCE,
        tries: 1,
    };
    let mut client = Client::new(CLIENT, SERVER, config, Instant::now());
    let mut run = Run {
        latencies_ns: Vec::with_capacity(count as usize),
        ..Run::default()
    };
    let mut start = Instant::now();
    for round in 0..warm_up + count {
        if round == warm_up {
            (run.wakeups, run.client_rsts) = (0, 0);
            start = Instant::now();
        }
        let sent_at = Instant::now();
        // The demo's tick: overdue replies first (none, on lo), then the
        // request that is due.
        client.on_timeout(sent_at);
        let Some(request) = client.poll_send(sent_at) else {
            let call =
                format!("the client had no request due for round trip {round}");
            return Err(SysError::new(call, Errno::EIO));
        };
        send(socket, &request.segment)?;
        let mut answered = false;
        while !answered {
            watchdog.wait(&events, &mut ready, round, "reply")?;
            run.wakeups += 1;
            while let Some(bytes) = read(socket, &mut buf)? {
                match client.on_packet(bytes, Instant::now()) {
                    ClientEvent::Reply { number, .. } => {
                        answered |= number == request.number;
                    }
                    ClientEvent::Ignored { reason, .. } if is_reset(&reason) => {
                        run.client_rsts += 1;
                    }
                    ClientEvent::Ignored { .. } => {}
                }
            }
        }
        let took = sent_at.elapsed().as_nanos();
        if round >= warm_up {
            run.latencies_ns
                .push(u32::try_from(took).unwrap_or(u32::MAX));
        }
    }
    run.elapsed = start.elapsed();
    Ok(run)
}

/// What one read of an end's socket is.
enum Read<'a> {
    /// The peer's data segment, its checksum verified.
    Data(Received<'a>),
    /// A RST between the two ends: the kernel's answer to a hand-made segment.
    Reset,
    /// Anything else: ours read back, a stranger's, empty, or damaged.
    Other,
}

// ANCHOR: sort
/// Sorts one read for the end `me` talking to `peer`: the checks of step 4's
/// `from_peer`, in the same order, without the summary line it also formats
/// (about half a microsecond a call, for the demo to print).
fn sort(bytes: &[u8], me: SocketAddrV4, peer: SocketAddrV4) -> Read<'_> {
    let Ok(packet) = parse_received(bytes) else {
        return Read::Other;
    };
    match classify(&packet, me, peer) {
        Verdict::FromPeer => {}
        Verdict::KernelReset => return Read::Reset,
        Verdict::OwnCopy | Verdict::Foreign => return Read::Other,
    }
    let (src, dst) = (packet.ip.src_addr(), packet.ip.dst_addr());
    if packet.tcp.payload().is_empty() || !packet.tcp.verify_checksum(src, dst) {
        return Read::Other;
    }
    Read::Data(packet)
}
// ANCHOR_END: sort

/// One packet from `socket`, or `None` once nothing is queued.
fn read<'b>(
    socket: &RawSocket,
    buf: &'b mut [u8],
) -> Result<Option<&'b [u8]>, SysError> {
    match socket.try_recv(buf) {
        Ok(Some(len)) => Ok(Some(&buf[..len])),
        Ok(None) => Ok(None),
        Err(RecvError::Sys(e)) => Err(e),
        Err(RecvError::Truncated { len, .. }) => Err(SysError::new(
            format!("recv: a {len}-byte packet did not fit"),
            Errno::EMSGSIZE,
        )),
    }
}

/// An epoll set watching `socket`, and a watchdog in it.
fn watch(socket: &RawSocket) -> Result<(EventSet, Watchdog), SysError> {
    let events = EventSet::new()?;
    events.add(socket, SOCKET, Flags::EPOLLIN)?;
    let watchdog = Watchdog::new(&events)?;
    Ok((events, watchdog))
}

// ANCHOR: serve
/// The server: answers `requests` data segments, each with its own bytes;
/// returns how many it answered, and how many RSTs it read meanwhile.
fn serve(socket: &RawSocket, requests: u64) -> Result<(u64, u64), SysError> {
    let (events, mut watchdog) = watch(socket)?;
    let mut ready = [Event::empty(); 4];
    let mut buf = vec![0; MAX_PACKET];
    let (mut answered, mut rsts) = (0u64, 0u64);
    let mut next_seq: SeqNumber = SERVER_ISN;
    while answered < requests {
        watchdog.wait(&events, &mut ready, answered, "request")?;
        while let Some(bytes) = read(socket, &mut buf)? {
            let request = match sort(bytes, SERVER, CLIENT) {
                Read::Data(request) => request.tcp_repr(),
                Read::Reset => {
                    rsts += 1;
                    continue;
                }
                Read::Other => continue,
            };
            let ack = request.seq + request.payload.len();
            let reply = data_segment(SERVER, CLIENT, next_seq, ack, request.payload);
            send(socket, &reply)?;
            next_seq += request.payload.len();
            answered += 1;
        }
    }
    Ok((answered, rsts))
}
// ANCHOR_END: serve

// ANCHOR: ask
/// The client: `warm_up` round trips, then `count` measured ones, each timed
/// from just before the request is built until its reply has been checked.
fn ask(
    socket: &RawSocket,
    payload: &[u8],
    warm_up: u64,
    count: u64,
) -> Result<Run, SysError> {
    let (events, mut watchdog) = watch(socket)?;
    let mut ready = [Event::empty(); 4];
    let mut buf = vec![0; MAX_PACKET];
    let (mut seq, mut ack) = (CLIENT_ISN, SERVER_ISN);
    let mut run = Run {
        latencies_ns: Vec::with_capacity(count as usize),
        ..Run::default()
    };
    let mut start = Instant::now();
    for round in 0..warm_up + count {
        if round == warm_up {
            // From here on, everything counts.
            (run.wakeups, run.client_rsts) = (0, 0);
            start = Instant::now();
        }
        let sent_at = Instant::now();
        send(socket, &data_segment(CLIENT, SERVER, seq, ack, payload))?;
        seq += payload.len();
        // The reply acknowledges our bytes, and carries them back.
        let mut answered = false;
        while !answered {
            watchdog.wait(&events, &mut ready, round, "reply")?;
            run.wakeups += 1;
            while let Some(bytes) = read(socket, &mut buf)? {
                match sort(bytes, CLIENT, SERVER) {
                    Read::Data(reply) => {
                        let reply = reply.tcp_repr();
                        if reply.ack_number == Some(seq) && reply.payload == payload
                        {
                            ack = reply.seq + reply.payload.len();
                            answered = true;
                        }
                    }
                    Read::Reset => run.client_rsts += 1,
                    Read::Other => {}
                }
            }
        }
        let took = sent_at.elapsed().as_nanos();
        if round >= warm_up {
            run.latencies_ns
                .push(u32::try_from(took).unwrap_or(u32::MAX));
        }
    }
    run.elapsed = start.elapsed();
    Ok(run)
}
// ANCHOR_END: ask
