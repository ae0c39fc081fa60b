//! Step 5: step 4's echo, with a classic BPF filter on each raw socket.
//!
//! The demo is step 4's: the same `Server` and `Client` machines, run by step
//! 4's `Echo` loop, both sides in one process, in a private network namespace.
//! One thing changes: this program opens the two sockets itself, and right
//! after `bind()` and `connect()` each gets `echo_filter(me, peer)`; then it
//! hands them to step 4's loop. From then on the kernel queues only the
//! peer's segments; the RST it answers each of our segments with is dropped
//! before it can wake anybody up.
//!
//! To show what the filter kept away, each side also has a witness: a second
//! raw socket, bound and connected alike, without a filter, read on a thread
//! of its own only to count what it got. At the end each side says how often
//! the loop woke up for its socket (the loop counts that), and what its
//! witness read.
//!
//! With `--pcap FILE`, what the witnesses read goes to FILE as pcap: the
//! exchange as `lo` carried it, the RSTs the filter kept from the sockets
//! included.
//!
//! What the filter is worth in time is measured by the workspace's
//! `workbook-bench` crate, with this same filter.

use std::fs::File;
use std::io::BufWriter;
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Instant, SystemTime};

use nix::sys::signal::Signal;
use nix::sys::socket::{Shutdown, shutdown};
use step_01_socket::{MAX_PACKET, RawSocket, RecvError, SysError};
use step_02_bind_connect::{CLIENT, SERVER, open_connected};
use step_03_epoll::Signals;
use step_04_echo::capture::Capture;
use step_04_echo::echo_loop::{Echo, Side, open_socket};
use step_04_echo::report::{Print, Role};
use step_04_echo::{Client, ClientConfig, Server};
use step_05_bpf_filter::args::{self, Command, SYNOPSIS, USAGE};
use step_05_bpf_filter::{Tally, Wakes, annotate, echo_filter, filter_socket};
use support::Error;
use support::pcap::{PcapError, PcapWriter, arrival_time, enable_arrival_times};
use support::privileges::drop_after_sudo;
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, fail_with_advice,
    usage_error,
};

fn main() -> ExitCode {
    // The very first thing, as in step 4: SIGINT and SIGTERM blocked, and a
    // signalfd for them. A signal at any moment from here on waits in the fd
    // until the loop reads it, and the demo stops with its summary.
    let signals = match Signals::new(&[Signal::SIGINT, Signal::SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => return fail(error),
    };
    exit_quietly_on_broken_pipe();
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let command = match args::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(error) => return usage_error(error, SYNOPSIS),
    };
    // ANCHOR: commands
    let result = match command {
        Command::Help => {
            println!("{SYNOPSIS}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Demo {
            client,
            verbose,
            pcap,
        } => {
            // The capture file first: a path that cannot be written fails
            // now, before anything is sent.
            let pcap = match pcap.map(PcapWriter::create).transpose() {
                Ok(pcap) => pcap,
                Err(error) => return fail(format_args!("--pcap: {error}")),
            };
            // First thing, while the process has one thread: a network of our
            // own, even as root. The demo never touches the host's network.
            if let Err(exit) = enter_private_network() {
                return exit;
            }
            demo(signals, client, verbose, pcap)
        }
    };
    // ANCHOR_END: commands
    match result {
        Ok(code) => code,
        // What failed, and the likely cause and its fix if there is a hint.
        Err(error) => fail_with_advice(&error),
    }
}

// ANCHOR: demo
/// Step 4's echo, both sides, on filtered sockets, each with a witness
/// (whose reads go to `pcap`, if it is given).
fn demo(
    signals: Signals,
    config: ClientConfig,
    verbose: bool,
    pcap: Option<Pcap>,
) -> Result<ExitCode, Error> {
    let server = open_filtered(Role::Server, SERVER, CLIENT)?;
    let client = open_filtered(Role::Client, CLIENT, SERVER)?;
    let record = pcap.is_some();
    let witnesses = [
        (Role::Client, Witness::start(CLIENT, SERVER, record)?),
        (Role::Server, Witness::start(SERVER, CLIENT, record)?),
    ];
    // Every socket is open: give root up.
    if let Some(dropped) = drop_after_sudo()? {
        println!("{dropped}");
    }
    println!(
        "witness: one more raw socket per side, bound and connected alike, \
         no filter, not in the epoll set: it counts what the filter keeps away"
    );
    println!("the server's filter (the client's swaps the addresses and ports):");
    print!("{}", annotate(&echo_filter(SERVER, CLIENT)));

    // From here on, step 4's loop, with the sockets filtered here.
    let server = Side::new(server, Server::new(SERVER, CLIENT));
    let client =
        Side::new(client, Client::new(CLIENT, SERVER, config, Instant::now()));
    let (capture, print) = (Capture::off(), Print { verbose });
    let mut echo = Echo::new(signals, Some(server), Some(client), capture, print)?;
    let ending = echo.run_loop()?;
    let mut read = Vec::new();
    for (role, witness) in witnesses {
        echo.summarise(role);
        let (wakes, round_trips) = match role {
            Role::Server => {
                echo.server().map(|s| (wakes(s), s.machine().requests()))
            }
            Role::Client => {
                echo.client().map(|s| (wakes(s), s.machine().answered()))
            }
        }
        .unwrap_or_default();
        let seen = witness.stop()?;
        report(role, wakes, round_trips, seen.tally);
        read.extend(seen.packets);
    }
    if let Some(pcap) = pcap {
        println!("{}", write_pcap(pcap, read).map_err(pcap_error)?);
    }
    Ok(echo.finish(ending))
}

/// The capture file `--pcap` names.
type Pcap = PcapWriter<BufWriter<File>>;

/// Writes what both witnesses read, in the order it arrived, and says how
/// many packets the file holds.
fn write_pcap(
    mut pcap: Pcap,
    read: Vec<(SystemTime, Vec<u8>)>,
) -> Result<String, PcapError> {
    pcap.write_in_arrival_order(read)?;
    let (count, name) = (pcap.count(), pcap.name().to_owned());
    pcap.finish()?;
    Ok(format!("pcap: {count} packets written to {name}"))
}

/// A file that could not be written, as the demo's errors say it:
/// `--pcap: write /tmp/echo.pcap: No space left on device`.
fn pcap_error(error: PcapError) -> Error {
    Error::io(
        format!("--pcap: {} {}", error.action, error.name),
        error.source,
    )
}
// ANCHOR_END: demo

/// What step 4's loop counted for a side.
fn wakes<M>(side: &Side<M>) -> Wakes {
    Wakes {
        wakes: side.wakes(),
        reads: side.reads(),
    }
}

// ANCHOR: open_filtered
/// Step 4's socket for `role`, bound to `me` and connected to `peer`, and the
/// filter on it: from then on it reads only what `peer` sends to `me`, by
/// address as in step 4, and now also by port and flags, in the kernel.
fn open_filtered(
    role: Role,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<RawSocket, SysError> {
    let socket = open_socket(role, me, peer)?;
    let stale = filter_socket(&socket, me, peer)?;
    println!(
        "{role}: filter attached and locked, {} instructions; \
         {stale} segments queued before it, drained",
        echo_filter(me, peer).len()
    );
    Ok(socket)
}
// ANCHOR_END: open_filtered

// ANCHOR: witness
/// The same socket without the filter: it reads everything `bind()` and
/// `connect()` let through, which is what the filtered socket would have read.
/// It reads on a thread of its own, as a `tcpdump` in a second terminal would,
/// and only counts what it reads (and, for `--pcap`, keeps it).
struct Witness {
    socket: Arc<RawSocket>,
    counting: JoinHandle<Result<Seen, Error>>,
}

/// What a witness read: the count, and for `--pcap` each packet with the
/// time it arrived.
#[derive(Default)]
struct Seen {
    tally: Tally,
    packets: Vec<(SystemTime, Vec<u8>)>,
}

impl Witness {
    fn start(
        me: SocketAddrV4,
        peer: SocketAddrV4,
        record: bool,
    ) -> Result<Witness, Error> {
        // Step 2's socket, blocking: its thread waits in `recv`.
        let socket = Arc::new(open_connected(me, peer)?);
        if record {
            // Before any packet comes: each is stamped when it crosses lo.
            enable_arrival_times(&*socket)?;
        }
        let reading = Arc::clone(&socket);
        let counting = thread::spawn(move || count(&reading, me, peer, record));
        Ok(Witness { socket, counting })
    }

    /// What it counted. `shutdown(SHUT_RD)` ends its reads: the thread reads
    /// what is still queued, then `recv` returns 0, which no IPv4 packet is.
    fn stop(self) -> Result<Seen, Error> {
        shutdown(self.socket.as_raw_fd(), Shutdown::Read)
            .map_err(|e| SysError::new("shutdown(SHUT_RD)", e))?;
        self.counting.join().unwrap_or_else(|_| {
            Err(Error::sys(
                "the witness's thread panicked",
                nix::errno::Errno::EIO,
            ))
        })
    }
}

/// The witness's thread: every packet sorted by step 2's `classify` (and
/// kept with its arrival time if `record`), until the socket is shut down.
fn count(
    socket: &RawSocket,
    me: SocketAddrV4,
    peer: SocketAddrV4,
    record: bool,
) -> Result<Seen, Error> {
    let mut seen = Seen::default();
    let mut buf = vec![0; MAX_PACKET];
    loop {
        match socket.recv(&mut buf) {
            Ok(0) => return Ok(seen),
            Ok(len) => {
                seen.tally.add(&buf[..len], me, peer);
                if record {
                    let arrived = arrival_time(socket)?;
                    seen.packets.push((arrived, buf[..len].to_vec()));
                }
            }
            Err(RecvError::Sys(error)) => return Err(error.into()),
            // Too long for the buffer: no IPv4 packet is.
            Err(RecvError::Truncated { .. }) => {}
        }
    }
}
// ANCHOR_END: witness

// ANCHOR: summary
/// After step 4's summary of the side `role`: how often it woke up per round
/// trip, what its witness read without the filter, and what the filter kept
/// from the socket.
fn report(role: Role, wakes: Wakes, round_trips: u64, seen: Tally) {
    println!("{role}: {}", wakes.report(round_trips));
    println!(
        "{role}: its witness, without the filter, read {}: {seen}",
        seen.total()
    );
    let kept = seen.total().saturating_sub(wakes.reads);
    println!(
        "{role}: the filter kept {kept} segments in the kernel, \
         {kept} reads this side never made"
    );
}
// ANCHOR_END: summary
