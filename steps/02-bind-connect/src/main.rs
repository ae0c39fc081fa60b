//! Step 2: `bind()` and `connect()` filter a raw socket by address, never by
//! port, and the kernel answers our first hand-built segment with a RST.
//!
//! In a private network namespace, with real packets on `lo`:
//!
//! - A: server 127.0.0.1, client 127.0.0.2 (the workbook's defaults). The
//!   client writes "Hello server". Who reads it, who reads the kernel's RST,
//!   and what does a socket with no filter read?
//! - B: server and client both on 127.0.0.1 (the tutorial's
//!   `server 127.0.0.1` / `client 127.0.0.1`). The address filters let
//!   everything through: each socket also reads its own segment, and only the
//!   ports tell the packets apart.
//! - C: a socket bound to port 9 reads a segment sent to port 50000.
//!
//! Each socket sorts what it read with [`classify`], from its own endpoint's
//! point of view, and a closing table counts the verdicts.
//!
//! With `--pcap FILE`, one more raw socket with no filter, a recorder, reads
//! every segment of the three scenarios, and they go to FILE as pcap, for
//! Wireshark or tshark.

use std::error::Error;
use std::ffi::OsString;
use std::fs::File;
use std::io::BufWriter;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use step_01_socket::{
    ChecksumCheck, Family, MAX_PACKET, RawSocket, RecvError, SeqNumber, SysError,
    annotate_segment, parse_received, segment_summary,
};
use step_02_bind_connect::{
    CLIENT, REPLY, REQUEST, SERVER, Verdict, classify, data_segment, open_connected,
    send,
};
use support::pcap::{PcapWriter, arrival_time, enable_arrival_times};
use support::program::{
    enter_private_network, exit_quietly_on_broken_pipe, fail, usage_error,
};

const USAGE: &str = "\
usage: step-02-bind-connect [--pcap FILE]

In a private network namespace, opens raw TCP sockets, bind()s and connect()s
them, writes hand-built segments between 127.0.0.1 and 127.0.0.2, and shows
what each socket reads:
  A     server 127.0.0.1:50000, client 127.0.0.2:50001, and an unfiltered watcher
  B     server 127.0.0.1:50000, client 127.0.0.1:50001 (one address, as the
        tutorial runs them)
  C     a socket bound to port 9 reads segments sent to port 50000

options:
  --pcap FILE   also write every segment of the three scenarios, as a raw
                socket with no filter reads them, to FILE as pcap with link
                type 101 (LINKTYPE_RAW: IPv4 header first) and the time each
                arrived, for Wireshark or `tshark -r FILE`; FILE is created
                before anything is sent (exit status 1 if it cannot be)
  -h, --help    this text";

/// How long a read waits before the drain decides the socket is quiet. On
/// `lo` every packet is queued before `write()` returns; this is only the
/// time it takes to be sure nothing more comes.
const QUIET: Duration = Duration::from_millis(150);

/// The first sequence number of each side. A real TCP picks a random one in
/// the handshake; with no handshake, a fixed 1 keeps the output the same on
/// every run.
const FIRST: SeqNumber = SeqNumber(1);

/// What can stop the story: a failed system call ([`SysError`] names it), a
/// failed read, or a malformed segment. `main` prints it and exits 1.
type Fallible<T> = Result<T, Box<dyn Error>>;

/// Scenario B's ends: the tutorial runs both programs on 127.0.0.1.
const SAME_SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50000);
const SAME_CLIENT: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50001);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Command {
    /// The three scenarios, recorded to the `pcap` file if one is named.
    Run {
        pcap: Option<PathBuf>,
    },
    Help,
}

/// Reads the arguments (after the program's name). `args_os`, not `args`: an
/// argument that is not UTF-8 is a usage error, not a panic (a file name
/// may be any bytes).
fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let (mut help, mut pcap) = (false, None);
    while let Some(arg) = args.next() {
        match arg.to_str().unwrap_or("") {
            // Read on: an argument after it is still an error.
            "-h" | "--help" => help = true,
            "--pcap" => {
                let value = args.next().ok_or("--pcap needs a file name")?;
                pcap = Some(PathBuf::from(value));
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(if help {
        Command::Help
    } else {
        Command::Run { pcap }
    })
}

fn main() -> ExitCode {
    exit_quietly_on_broken_pipe();
    let pcap = match parse_args(std::env::args_os().skip(1)) {
        Ok(Command::Run { pcap }) => pcap,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => return usage_error(message, USAGE),
    };
    // The capture file first: a path that cannot be written fails now,
    // before anything is sent.
    let pcap = match pcap.map(PcapWriter::create).transpose() {
        Ok(pcap) => pcap,
        Err(error) => return fail(format_args!("--pcap: {error}")),
    };
    // First thing, while the process has one thread: a network of our own.
    if let Err(exit) = enter_private_network() {
        return exit;
    }
    match run(pcap) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(error),
    }
}

fn run(pcap: Option<Pcap>) -> Fallible<()> {
    // Before any segment is written, so that it reads them all.
    let recorder = pcap.map(Recorder::open).transpose()?;
    println!("\nverdicts, from each socket's own endpoint (me) and its peer:");
    for verdict in Verdict::ALL {
        println!("  {:<11} {}", verdict.reason(), verdict.meaning());
    }
    let mut rows = Vec::new();
    rows.extend(scenario_a()?);
    rows.extend(scenario_b()?);
    rows.extend(port_ignored()?);
    print_table(&rows);
    if let Some(recorder) = recorder {
        println!("\n{}", recorder.finish()?);
    }
    Ok(())
}

/// The capture file `--pcap` names.
type Pcap = PcapWriter<BufWriter<File>>;

// ANCHOR: recorder
/// For `--pcap`: a raw socket with neither bind() nor connect(), like
/// scenario A's watcher, open through all three scenarios. It reads every
/// segment on `lo` once, in the order they arrived, the kernel's RSTs too,
/// and keeps them queued until [`finish`](Recorder::finish) writes them.
struct Recorder {
    socket: RawSocket,
    file: Pcap,
}

impl Recorder {
    fn open(file: Pcap) -> Fallible<Recorder> {
        let socket = RawSocket::open(Family::AfInet)?;
        // Each packet is stamped with the moment it crossed lo.
        enable_arrival_times(&socket)?;
        socket.set_recv_timeout(QUIET)?;
        Ok(Recorder { socket, file })
    }

    /// Reads what is queued, writes it with its arrival time, closes the file
    /// and says how many packets it holds.
    fn finish(mut self) -> Fallible<String> {
        let mut buf = vec![0u8; MAX_PACKET];
        while let Some(len) = self.socket.try_recv(&mut buf)? {
            self.file.write(&buf[..len], arrival_time(&self.socket)?)?;
        }
        let (count, name) = (self.file.count(), self.file.name().to_owned());
        self.file.finish()?;
        Ok(format!("pcap: {count} packets written to {name}"))
    }
}
// ANCHOR_END: recorder

/// One raw socket of the story.
struct Party {
    /// How the output names it: "server", "client", "watcher".
    name: &'static str,
    socket: RawSocket,
    /// The endpoint this socket speaks for, and its peer: what classify()
    /// needs. `None` for a watcher, which speaks for no one.
    view: Option<View>,
    /// One entry per packet read: its verdict, or `None` if not classified.
    verdicts: Vec<Option<Verdict>>,
}

#[derive(Debug, Clone, Copy)]
struct View {
    me: SocketAddrV4,
    peer: SocketAddrV4,
}

// ANCHOR: open
/// Opens a raw socket for one end of a conversation. `bind(me)` keeps only
/// packets sent *to* me's address; `connect(peer)` keeps only packets *from*
/// peer's address and makes it write()'s destination. Neither looks at ports.
fn open_party(
    name: &'static str,
    me: SocketAddrV4,
    peer: SocketAddrV4,
) -> Result<Party, SysError> {
    let socket = open_connected(me, peer)?;
    // Reads wait at most QUIET: a read that times out means all is read.
    socket.set_recv_timeout(QUIET)?;
    println!("  {name:<8} bind({me}), connect({peer})");
    Ok(Party {
        name,
        socket,
        view: Some(View { me, peer }),
        verdicts: Vec::new(),
    })
}

/// Opens a raw socket with neither bind() nor connect(): it reads every TCP
/// segment in the namespace.
fn open_watcher(name: &'static str) -> Result<Party, SysError> {
    let socket = RawSocket::open(Family::AfInet)?;
    socket.set_recv_timeout(QUIET)?;
    println!("  {name:<8} no bind, no connect");
    Ok(Party {
        name,
        socket,
        view: None,
        verdicts: Vec::new(),
    })
}
// ANCHOR_END: open

/// How much of a written segment to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Show {
    /// The summary line and every field, byte by byte.
    Annotated,
    /// The summary line only.
    Summary,
}

// ANCHOR: write
/// Builds a data segment from `party`'s endpoint to its peer and writes it with
/// `write()`: exactly the TCP header and the payload, 20 + 12 bytes. The
/// kernel adds the IPv4 header (and fills in its source address from bind()).
fn write_segment(
    party: &Party,
    seq: SeqNumber,
    ack: SeqNumber,
    payload: &[u8],
    show: Show,
) -> Fallible<()> {
    let view = party.view.ok_or("a watcher has no peer to write to")?;
    let (me, peer) = (view.me, view.peer);
    let segment = data_segment(me, peer, seq, ack, payload);
    let line = segment_summary(me, peer, &segment, ChecksumCheck::Verify)?;
    println!("\n{} writes {} bytes: {line}", party.name, segment.len());
    if show == Show::Annotated {
        let text = annotate_segment(*me.ip(), *peer.ip(), &segment)?;
        print!("{text}");
    }
    send(&party.socket, &segment)?;
    Ok(())
}
// ANCHOR_END: write

// ANCHOR: drain
/// Reads every packet queued on `socket`, until a read waits [`QUIET`] in vain
/// (`EAGAIN`: the receive timeout passed). Each packet starts with its IPv4
/// header.
fn drain(socket: &RawSocket) -> Result<Vec<Vec<u8>>, RecvError> {
    let mut buf = vec![0u8; MAX_PACKET];
    let mut packets = Vec::new();
    while let Some(len) = socket.try_recv(&mut buf)? {
        packets.push(buf[..len].to_vec());
    }
    Ok(packets)
}

/// Drains `party`'s socket and prints one line per packet: the verdict from
/// the party's point of view (`-` for a watcher), then the packet's summary.
fn read_and_classify(party: &mut Party) -> Fallible<()> {
    let packets = drain(&party.socket)?;
    if packets.is_empty() {
        println!("  {:<8} read nothing", party.name);
    }
    for bytes in &packets {
        let (verdict, line) = match parse_received(bytes) {
            Ok(packet) => (
                party.view.map(|v| classify(&packet, v.me, v.peer)),
                packet.summary(),
            ),
            Err(error) => {
                (None, format!("{} bytes, malformed: {error}", bytes.len()))
            }
        };
        let reason = verdict.map_or("-", Verdict::reason);
        println!("  {:<8} {reason:<11} {line}", party.name);
        party.verdicts.push(verdict);
    }
    Ok(())
}
// ANCHOR_END: drain

fn heading(title: &str) {
    println!("\n== {title}");
}

// ANCHOR: scenario_a
/// Server 127.0.0.1, client 127.0.0.2: the address filters separate them.
fn scenario_a() -> Fallible<Vec<Row>> {
    heading("A: server 127.0.0.1, client 127.0.0.2 (different addresses)");
    let mut server = open_party("server", SERVER, CLIENT)?;
    let mut client = open_party("client", CLIENT, SERVER)?;
    let mut watcher = open_watcher("watcher")?;

    write_segment(&client, FIRST, FIRST, REQUEST, Show::Annotated)?;

    println!("\nwhat each socket read:");
    for party in [&mut server, &mut client, &mut watcher] {
        read_and_classify(party)?;
    }
    Ok(rows("A", [server, client, watcher]))
}
// ANCHOR_END: scenario_a

// ANCHOR: scenario_b
/// Server and client both on 127.0.0.1: the address filters let everything
/// through, and only the ports tell the packets apart.
fn scenario_b() -> Fallible<Vec<Row>> {
    heading("B: server 127.0.0.1, client 127.0.0.1 (one address, as the tutorial)");
    let mut server = open_party("server", SAME_SERVER, SAME_CLIENT)?;
    let mut client = open_party("client", SAME_CLIENT, SAME_SERVER)?;

    write_segment(&client, FIRST, FIRST, REQUEST, Show::Summary)?;
    read_and_classify(&mut server)?;
    read_and_classify(&mut client)?;

    // The server answers from its own first byte, and acknowledges the next
    // byte it expects: the client's 12 bytes were 1 to 12, so ack 13.
    let ack = FIRST + REQUEST.len();
    write_segment(&server, FIRST, ack, REPLY, Show::Summary)?;
    read_and_classify(&mut server)?;
    read_and_classify(&mut client)?;
    Ok(rows("B", [server, client]))
}
// ANCHOR_END: scenario_b

// ANCHOR: port_ignored
/// A socket bound to port 9 (and connected to port 7) still reads a segment
/// between the same addresses on ports 50001 and 50000.
fn port_ignored() -> Fallible<Vec<Row>> {
    heading("C: bind() and connect() ignore the port");
    let nine = SocketAddrV4::new(*SERVER.ip(), 9);
    let seven = SocketAddrV4::new(*CLIENT.ip(), 7);
    let mut port9 = open_party("port-9", nine, seven)?;
    let client = open_party("client", CLIENT, SERVER)?;

    write_segment(&client, FIRST, FIRST, REQUEST, Show::Summary)?;
    read_and_classify(&mut port9)?;
    Ok(rows("C", [port9]))
}
// ANCHOR_END: port_ignored

/// What the closing table shows of one socket.
struct Row {
    name: String,
    verdicts: Vec<Option<Verdict>>,
}

/// Closes the parties' sockets, keeping what they read.
fn rows<const N: usize>(scenario: &str, parties: [Party; N]) -> Vec<Row> {
    parties
        .into_iter()
        .map(|party| Row {
            name: format!("{scenario} {}", party.name),
            verdicts: party.verdicts,
        })
        .collect()
}

fn print_table(rows: &[Row]) {
    println!("\n== packets read, by verdict");
    print!("  {:<14}", "socket");
    for verdict in Verdict::ALL {
        print!(" {:>10}", verdict.reason());
    }
    println!(" {:>10} {:>6}", "unsorted", "total");
    for row in rows {
        print!("  {:<14}", row.name);
        for verdict in Verdict::ALL {
            let n = row.verdicts.iter().filter(|v| **v == Some(verdict)).count();
            print!(" {n:>10}");
        }
        let unsorted = row.verdicts.iter().filter(|v| v.is_none()).count();
        println!(" {unsorted:>10} {:>6}", row.verdicts.len());
    }
    println!(
        "  (unsorted: a watcher speaks for no endpoint, so classify() has no view)"
    );
}
