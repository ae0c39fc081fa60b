//! No allocation per round trip: once warmed up, the echo's machines and its
//! loop take no new memory, however long they run.
//!
//! This file's test binary counts every allocation its process makes (its own
//! global allocator, which is why the test has a file of its own). Each test
//! runs N round trips and checks that the last N - 1000 made none at all: a
//! count, not a timing, so a busy machine cannot change it.
//!
//! Two ways in. Without sockets, the test plays the network: it puts the IPv4
//! header in front of each segment a machine wrote, as `lo` would, and hands
//! each machine the kernel's RST to each segment of the other's too. With
//! sockets, in a private network namespace, the demo's whole loop runs: epoll,
//! the timerfd, the reads and writes, with nothing printed. Before the
//! machines spoke in typed events, the first made 52 allocations per round
//! trip, the second 63.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use step_01_socket::checksum::PROTO_TCP;
use step_01_socket::ipv4::{Ipv4Packet, Ipv4Repr};
use step_01_socket::{SeqNumber, TcpFlags, TcpPacket, TcpRepr};
use step_02_bind_connect::{CLIENT, SERVER};
use step_03_epoll::{Signals, open_nonblocking};
use step_04_echo::capture::Capture;
use step_04_echo::echo_loop::{Echo, Ending, Side};
use step_04_echo::report::{Report, Said};
use step_04_echo::{Client, ClientConfig, ClientEvent, Server, ServerEvent};

/// The system's allocator, counting.
struct Counting;

/// Allocations (and reallocations) so far, in every thread of the process.
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call goes to the system allocator with the caller's own
// arguments; counting changes nothing about the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Round trips in all.
const N: u64 = 3000;
/// Round trips not counted: the machines and the loop settle, their buffers
/// and tables reach their size.
const WARM_UP: u64 = 1000;

/// Ping-pong, the way the bench runs the echo: each request once the last is
/// answered.
fn ping_pong() -> ClientConfig {
    ClientConfig {
        count: Some(N),
        interval: Duration::ZERO,
        timeout: Duration::from_secs(1),
        tries: 1,
    }
}

/// `segment` from `src` to `dst` as a raw socket reads it, written into `buf`
/// (whose length is the largest packet): the IPv4 header the kernel puts in
/// front, then the segment. Returns the packet's length.
fn as_read(buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> usize {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: PROTO_TCP,
        ident: 1,
        ttl: 64,
        payload_len: segment.len(),
    };
    let len = ip.header_len() + segment.len();
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..len]));
    buf[ip.header_len()..len].copy_from_slice(segment);
    len
}

/// The kernel's RST from `src` to `dst`, as a raw socket reads it, into `buf`.
fn kernel_rst(buf: &mut [u8], src: SocketAddrV4, dst: SocketAddrV4) -> usize {
    let mut segment = [0u8; 20];
    let rst = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNumber(1),
        ack_number: None,
        flags: TcpFlags::RST,
        window: 0,
        payload: b"",
    };
    rst.emit(
        &mut TcpPacket::new_unchecked(&mut segment[..]),
        *src.ip(),
        *dst.ip(),
    );
    as_read(buf, *src.ip(), *dst.ip(), &segment)
}

#[test]
fn the_machines_allocate_nothing_per_round_trip() {
    let t0 = Instant::now();
    let mut server = Server::new(SERVER, CLIENT);
    let mut client = Client::new(CLIENT, SERVER, ping_pong(), t0);
    let (mut to_server, mut to_client) = (vec![0u8; 65535], vec![0u8; 65535]);
    let mut counted = 0;
    for n in 1..=N {
        if n == WARM_UP + 1 {
            counted = allocations();
        }
        let now = t0 + Duration::from_micros(20 * n);
        // The loop's turn: what is overdue (nothing), then the request.
        assert!(client.on_timeout(now).is_none());
        let request = client.poll_send(now).expect("a request is due");
        let len =
            as_read(&mut to_server, *CLIENT.ip(), *SERVER.ip(), request.segment);
        let event = server.on_packet(&to_server[..len]);
        let reply = event.reply().expect("the request is answered");
        let len = as_read(&mut to_client, *SERVER.ip(), *CLIENT.ip(), reply.segment);
        // The kernel resets both: the request (the client reads that RST)
        // and the reply (the server does).
        let mut rst = [0u8; 40];
        let rst_len = kernel_rst(&mut rst, SERVER, CLIENT);
        let event = client.on_packet(&rst[..rst_len], now);
        assert!(matches!(event, ClientEvent::Ignored(_)));
        let event = client.on_packet(&to_client[..len], now);
        assert!(matches!(event, ClientEvent::Reply { number, .. } if number == n));
        let rst_len = kernel_rst(&mut rst, CLIENT, SERVER);
        assert!(matches!(
            server.on_packet(&rst[..rst_len]),
            ServerEvent::Ignored(_)
        ));
    }
    let made = allocations() - counted;
    assert!(client.succeeded());
    assert_eq!(server.ignored().get("kernel-rst"), N);
    assert_eq!(
        made,
        0,
        "allocations in the last {} round trips",
        N - WARM_UP
    );
}

/// A report that prints nothing and notes how many allocations the process
/// had made when the warm-up's last reply came, and the last reply.
#[derive(Default)]
struct Counts {
    after_warm_up: Option<u64>,
    at_the_end: Option<u64>,
}

impl Report for Counts {
    fn report(&mut self, said: Said<'_>) {
        if let Said::Client(ClientEvent::Reply { number, .. }) = said {
            match number {
                WARM_UP => self.after_warm_up = Some(allocations()),
                N => self.at_the_end = Some(allocations()),
                _ => {}
            }
        }
    }
}

#[test]
fn the_echo_loop_allocates_nothing_per_round_trip() {
    let test = "the_echo_loop_allocates_nothing_per_round_trip";
    let Some((ending, counts)) = testkit::in_private_network(test, || {
        // The demo's two sides in one epoll set, as the demo runs them.
        let signals = Signals::new(&[Signal::SIGINT, Signal::SIGTERM]).unwrap();
        let open = |me, peer| open_nonblocking(me, peer).unwrap();
        let server = Side::new(open(SERVER, CLIENT), Server::new(SERVER, CLIENT));
        let machine = Client::new(CLIENT, SERVER, ping_pong(), Instant::now());
        let client = Side::new(open(CLIENT, SERVER), machine);
        let report = Counts::default();
        let mut echo =
            Echo::new(signals, Some(server), Some(client), Capture::off(), report)
                .unwrap();
        let ending = echo.run_loop().unwrap();
        let counts = echo.report();
        (ending, (counts.after_warm_up, counts.at_the_end))
    }) else {
        return;
    };
    assert_eq!(ending, Ending::Done);
    let (Some(after_warm_up), Some(at_the_end)) = counts else {
        panic!("not every round trip was made: {counts:?}");
    };
    assert_eq!(
        at_the_end - after_warm_up,
        0,
        "allocations in the last {} round trips",
        N - WARM_UP
    );
}
