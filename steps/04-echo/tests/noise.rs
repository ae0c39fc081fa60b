//! Noise: ten thousand round trips while the namespace is busy with other TCP.
//! A kernel TCP connection on another port carries a bulk transfer the whole
//! time, and twelve more raw TCP sockets sit in the namespace. Server and
//! client share 127.0.0.1, so their raw sockets read every segment of the
//! transfer too. No reply may be lost, and none taken for another's.
//!
//! The noise costs segments: each raw socket's receive queue (about 208 KiB)
//! holds only three of the transfer's 64 KiB segments, and a segment of the
//! echo that arrives while it is full is dropped, silently. The client's
//! resends repair that. Unpaced, on two cores, the transfer keeps the queues
//! full nearly all the time and the echo crawls from resend to resend; so the
//! transfer pauses 10 ms after each 1 MiB.
//!
//! Not a timed test: it ends when the client is done, bounded only by the
//! hang guards. The whole test runs in a private network namespace of its own
//! (as an ordinary user as well as root), where threads of the test make the
//! noise.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use common::{command, count_after, ignored};
use nix::sys::signal::Signal;
use step_01_socket::{Family, RawSocket};
use testkit::{Finished, Running, in_private_network, run};

/// Round trips of the echo.
const ROUND_TRIPS: u64 = 10_000;
/// Raw TCP sockets besides the echo's own two, open and never read.
const IDLE_RAW_SOCKETS: usize = 12;
/// What the bulk transfer writes at a time.
const CHUNK: usize = 1 << 20;
/// The pause after each chunk: about 100 MiB a second.
const PAUSE: Duration = Duration::from_millis(10);

/// A kernel TCP connection on 127.0.0.1:9000 in the test's namespace, with
/// one thread writing 1 MiB chunks into it and one reading them, until
/// stopped.
struct BulkTransfer {
    stop: Arc<AtomicBool>,
    bytes: Arc<AtomicU64>,
    ends: (TcpStream, TcpStream),
    threads: Vec<JoinHandle<()>>,
}

impl BulkTransfer {
    fn start() -> BulkTransfer {
        let listener = TcpListener::bind("127.0.0.1:9000").expect("listen");
        let sender = TcpStream::connect("127.0.0.1:9000").expect("connect");
        let (receiver, _) = listener.accept().expect("accept");
        let stop = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let ends = (
            sender.try_clone().expect("dup"),
            receiver.try_clone().expect("dup"),
        );
        let writer = {
            let (stop, mut sender) = (stop.clone(), sender);
            std::thread::spawn(move || {
                let chunk = vec![0x5a; CHUNK];
                while !stop.load(Ordering::Relaxed) {
                    if sender.write_all(&chunk).is_err() {
                        break;
                    }
                    std::thread::sleep(PAUSE);
                }
            })
        };
        let reader = {
            let (bytes, mut receiver) = (bytes.clone(), receiver);
            std::thread::spawn(move || {
                let mut buf = vec![0; CHUNK];
                while let Ok(n @ 1..) = receiver.read(&mut buf) {
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
            })
        };
        BulkTransfer {
            stop,
            bytes,
            ends,
            threads: vec![writer, reader],
        }
    }

    /// Stops both threads and returns how many bytes went through.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.ends.0.shutdown(Shutdown::Both);
        let _ = self.ends.1.shutdown(Shutdown::Both);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The number after `word` in the last line that starts with `prefix`.
fn number(output: &Finished, prefix: &str, word: &str) -> u64 {
    output
        .lines_starting(prefix)
        .pop()
        .and_then(|line| count_after(line, word))
        .unwrap_or(0)
}

#[test]
fn ten_thousand_round_trips_through_noise_lose_nothing() {
    let test = "ten_thousand_round_trips_through_noise_lose_nothing";
    let Some((server, client, transferred)) = in_private_network(test, || {
        let idle: Vec<RawSocket> = (0..IDLE_RAW_SOCKETS)
            .map(|_| RawSocket::open(Family::AfInet).expect("raw socket"))
            .collect();
        let bulk = BulkTransfer::start();

        let mut server = Running::spawn(command(&["server", "127.0.0.1"]));
        assert!(server.wait_for("until Ctrl+C"), "the server did not start");
        let count = ROUND_TRIPS.to_string();
        let client = run(command(&[
            "client",
            "127.0.0.1",
            "--count",
            &count,
            "--interval",
            "0",
            "--timeout",
            "20ms",
            "--tries",
            "20",
        ]));
        server.signal(Signal::SIGINT);
        let server = server.finish();
        let transferred = bulk.stop();
        drop(idle);
        (server, client, transferred)
    }) else {
        return;
    };

    // The numbers, for the record (`cargo test -- --nocapture` shows them).
    for line in client
        .lines_starting("client: sent ")
        .into_iter()
        .chain(client.lines_starting("client: ignored "))
        .chain(server.lines_starting("server: received "))
        .chain(server.lines_starting("server: ignored "))
    {
        println!("{line}");
    }
    println!(
        "bulk transfer: {} MiB; {IDLE_RAW_SOCKETS} idle raw sockets; the client took {:?}",
        transferred >> 20,
        client.elapsed
    );

    assert_eq!(client.code(), 0, "{}", client.stderr);
    assert_eq!(number(&client, "client: sent ", "sent"), ROUND_TRIPS);
    let summary = client
        .lines_starting("client: sent ")
        .pop()
        .expect("summary");
    assert!(
        summary.contains(&format!("{ROUND_TRIPS} replies received, 0 lost")),
        "{summary}"
    );
    // Every reply matched to its own request, in order, and nothing else
    // taken for one.
    let answers = client.lines_starting("client:   read   ");
    assert_eq!(answers.len() as u64, ROUND_TRIPS);
    for (k, answer) in answers.iter().enumerate() {
        assert!(
            answer.starts_with(
                "client:   read   TCP 127.0.0.1:50000 > 127.0.0.1:50001 [P.]"
            ) && answer.ends_with(&format!("(answers request {})", k + 1)),
            "{answer}"
        );
    }
    for reason in ["late", "unknown-ack", "bad-checksum"] {
        assert_eq!(ignored(&client, "client", reason), 0, "{reason}");
    }
    // A duplicate can only be the second answer to a resent request, one
    // whose first reply was slower than the timeout, never an answer counted
    // twice. (Asking for none would assert a round-trip time.)
    let resent = number(&client, "client: sent ", "resent");
    assert!(ignored(&client, "client", "duplicate") <= resent);
    // The noise was there, and read: both sides counted the transfer's
    // segments as foreign.
    assert!(transferred > 0);
    assert!(ignored(&client, "client", "foreign") > 0);
    assert!(ignored(&server, "server", "foreign") > 0);
    assert_eq!(server.code(), 0, "{}", server.stderr);
    assert_eq!(
        number(&server, "server: received ", "received"),
        ROUND_TRIPS
    );
}
