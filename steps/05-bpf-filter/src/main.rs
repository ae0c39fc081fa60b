//! Step 5: step 4's echo, with a classic BPF filter on each raw socket.
//!
//! The demo is step 4's: the same `Server` and `Client` machines, run by step
//! 4's `Echo` loop, both sides in one process, in a private network namespace.
//! One thing changes: right after `bind()` and `connect()`, each side's socket
//! gets `echo_filter(me, peer)`, in the hook step 4's loop calls there. From
//! then on the kernel queues only the peer's segments; the RST it answers each
//! of our segments with is dropped before it can wake anybody up.
//!
//! To show what the filter kept away, each side also opens a witness: a
//! second raw socket, bound and connected alike, without a filter. It is not
//! in the epoll set; the demo reads it only to count what it got. The other
//! hooks count each side's wake-ups and reads, and report them at the end.
//!
//! `bench` measures what the filter is worth in time: step 4's harness, run
//! with and without the filter, next to the kernel's TCP.

use std::net::SocketAddrV4;
use std::process::ExitCode;

use nix::sys::signal::Signal;
use step_01_socket::{MAX_PACKET, RawSocket, SysError};
use step_02_bind_connect::{CLIENT, SERVER};
use step_03_epoll::{Signals, open_nonblocking};
use step_04_echo::UsageError;
use step_04_echo::bench;
use step_04_echo::capture::Capture;
use step_04_echo::echo_loop::{Echo, Hooks, Role, read_packet};
use step_05_bpf_filter::args::{self, Command, SYNOPSIS, USAGE};
use step_05_bpf_filter::bench::{RATIOS, VARIANTS};
use step_05_bpf_filter::{
    Insn, REJECT, Tally, Wakes, annotate, attach, drain_queued, echo_filter,
    lock_filter,
};
use support::Error;
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, fail_with_advice,
    usage_error,
};

fn parse_command_line() -> Result<Command, UsageError> {
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let args = std::env::args_os().skip(1);
    args::parse(args.map(|arg| arg.to_string_lossy().into_owned()))
}

fn main() -> ExitCode {
    // The very first thing, as in step 4: SIGINT and SIGTERM blocked, and a
    // signalfd for them. A signal at any moment from here on waits in the fd
    // until the loop reads it, and the demo stops with its summary.
    let signals = match Signals::new(&[Signal::SIGINT, Signal::SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => return fail(error),
    };
    exit_quietly_on_broken_pipe();
    let command = match parse_command_line() {
        Ok(command) => command,
        Err(error) => return usage_error(error, SYNOPSIS),
    };
    // ANCHOR: commands
    let result = match command {
        Command::Help => {
            println!("{SYNOPSIS}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        // Step 4's raw echo, the same with the filter, and the kernel's TCP,
        // with step 4's harness, in a private network namespace.
        Command::Bench(options) => {
            return bench::command(signals, &options, &VARIANTS, &RATIOS);
        }
        Command::Demo { client, verbose } => {
            // First thing, while the process has one thread: a network of our
            // own, even as root. The demo never touches the host's network.
            if let Err(exit) = enter_private_network() {
                return exit;
            }
            // Step 4's echo, both sides, with this step's hooks.
            let (server, client) =
                (Some((SERVER, CLIENT)), Some((CLIENT, SERVER, client)));
            let (capture, hooks) = (Capture::off(), Filtered::default());
            Echo::new(signals, server, client, verbose, capture, hooks)
                .and_then(Echo::run)
        }
    };
    // ANCHOR_END: commands
    match result {
        Ok(code) => code,
        // What failed, and the likely cause and its fix if there is a hint.
        Err(error) => fail_with_advice(&error),
    }
}

// ANCHOR: open_filtered
/// Runs right after step 4's loop has bound `socket` to `me` and connected it
/// to `peer`: from then on it reads only what `peer` sends to `me`, by address
/// as in step 4, and now also by port and flags, in the kernel.
fn filter(
    role: Role,
    socket: &RawSocket,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<(), SysError> {
    // What arrived between socket() and now was queued unfiltered. First a
    // program that rejects everything, so that nothing more is queued; then
    // the queue is drained: exactly what came before any filter.
    attach(socket, &[Insn::ret(REJECT)])?;
    let stale = drain_queued(socket)?;
    // From here on the kernel runs the real program on every segment for this
    // socket before it queues it: what it rejects never wakes us up. Nothing
    // that passes it can have been drained.
    let program = echo_filter(me, peer);
    attach(socket, &program)?;
    // Nothing, not even a bug of ours, can swap or remove it now.
    lock_filter(socket)?;
    println!(
        "{role}: filter attached and locked, {} instructions; \
         {stale} segments queued before it, drained",
        program.len()
    );
    Ok(())
}
// ANCHOR_END: open_filtered

// ANCHOR: witness
/// The same socket without the filter: it reads everything `bind()` and
/// `connect()` let through, which is what the filtered socket would have read.
/// The demo only counts what it reads.
struct Witness {
    me: SocketAddrV4,
    peer: SocketAddrV4,
    socket: RawSocket,
    tally: Tally,
    /// One read's worth: the largest IPv4 packet.
    buf: Vec<u8>,
}

impl Witness {
    fn open(me: SocketAddrV4, peer: SocketAddrV4) -> Result<Witness, SysError> {
        let socket = open_nonblocking(me, peer)?;
        Ok(Witness {
            me,
            peer,
            socket,
            tally: Tally::default(),
            buf: vec![0; MAX_PACKET],
        })
    }

    /// Reads and sorts whatever is queued, so that its buffer never fills.
    fn count(&mut self) -> Result<(), Error> {
        // Step 4's read; nothing of the witness goes to a --pcap file.
        let (socket, buf, off) = (&self.socket, &mut self.buf, &mut Capture::off());
        while let Some(bytes) = read_packet("witness", socket, buf, off)? {
            self.tally.add(bytes, self.me, self.peer);
        }
        Ok(())
    }
}
// ANCHOR_END: witness

/// What this step adds to one side of step 4's echo: a witness next to its
/// filtered socket, and how often that socket woke the loop up.
struct Side {
    witness: Witness,
    wakes: Wakes,
}

// ANCHOR: summary
impl Side {
    /// After step 4's summary of the side `role`: how often it woke up per
    /// round trip, what its witness read without the filter, and what the
    /// filter kept from the socket.
    fn report(&mut self, role: Role, round_trips: u64) -> Result<(), Error> {
        println!("{role}: {}", self.wakes.report(round_trips));
        self.witness.count()?;
        let seen = &self.witness.tally;
        println!(
            "{role}: its witness, without the filter, read {}: {seen}",
            seen.total()
        );
        let kept = seen.total().saturating_sub(self.wakes.reads);
        println!(
            "{role}: the filter kept {kept} segments in the kernel, \
             {kept} reads this side never made"
        );
        Ok(())
    }
}
// ANCHOR_END: summary

/// This step's hooks into step 4's echo: each side, once its socket is open.
#[derive(Default)]
struct Filtered {
    server: Option<Side>,
    client: Option<Side>,
}

impl Filtered {
    fn side(&mut self, role: Role) -> Option<&mut Side> {
        match role {
            Role::Server => self.server.as_mut(),
            Role::Client => self.client.as_mut(),
        }
    }
}

// ANCHOR: hooks
impl Hooks for Filtered {
    /// Each side's socket gets its filter, and a witness next to it.
    fn socket_opened(
        &mut self,
        role: Role,
        socket: &RawSocket,
        me: SocketAddrV4,
        peer: SocketAddrV4,
    ) -> Result<(), Error> {
        filter(role, socket, me, peer)?;
        let side = Side {
            witness: Witness::open(me, peer)?,
            wakes: Wakes::default(),
        };
        match role {
            Role::Server => self.server = Some(side),
            Role::Client => self.client = Some(side),
        }
        Ok(())
    }

    /// The witnesses, and the program the server's socket runs.
    fn announce(&mut self) {
        println!(
            "witness: one more raw socket per side, bound and connected alike, \
             no filter, not in the epoll set: it counts what the filter keeps away"
        );
        println!(
            "the server's filter (the client's swaps the addresses and ports):"
        );
        print!("{}", annotate(&echo_filter(SERVER, CLIENT)));
    }

    /// Each event for a side's socket is one wake-up of that side.
    fn woke(&mut self, role: Role) {
        if let Some(side) = self.side(role) {
            side.wakes.wakes += 1;
        }
    }

    /// Each segment the side read; with the filter, each is from the peer.
    fn read_one(&mut self, role: Role) {
        if let Some(side) = self.side(role) {
            side.wakes.reads += 1;
        }
    }

    /// After each wait, the witnesses' queues are emptied into their counts.
    fn waited(&mut self) -> Result<(), Error> {
        for role in [Role::Server, Role::Client] {
            if let Some(side) = self.side(role) {
                side.witness.count()?;
            }
        }
        Ok(())
    }

    /// After step 4's summary lines of a side, this step's.
    fn summarise(&mut self, role: Role, round_trips: u64) -> Result<(), Error> {
        match self.side(role) {
            Some(side) => side.report(role, round_trips),
            None => Ok(()),
        }
    }
}
// ANCHOR_END: hooks
