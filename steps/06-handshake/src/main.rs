//! Step 6: a raw socket speaks TCP to the kernel's own TCP.
//!
//! The demo, in a private network namespace: first the kernel's RSTs are
//! silenced with an nft rule; then (a) our client does the three-way
//! handshake with a `std::net::TcpListener`, sends `Hello server`, takes
//! `Hello client` and closes; (b) a `std::net::TcpStream` connects to our
//! server, which answers and closes. The kernel's side runs in threads and
//! tells what each of its calls returned. At the end, the RSTs seen: none.
//!
//! `client` and `server` run our end alone in the current namespace, to talk
//! to any TCP program.
//!
//! TCP itself is the library's `Tcb`; the loop that feeds it is `run.rs`.

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;

use nix::sys::signal::Signal;
use step_02_bind_connect::{CLIENT, REPLY, REQUEST, SERVER};
use step_03_epoll::Signals;
use step_04_echo::UsageError;
use step_04_echo::capture::Capture;
use step_05_bpf_filter::drain_queued;
use step_06_handshake::args::{self, Mode, SYNOPSIS, USAGE, take_pcap_option};
use step_06_handshake::kernel_side::{self, Account};
use step_06_handshake::run::{Endpoint, Loop, Output, Report, open_raw};
use step_06_handshake::silence::silence;
use step_06_handshake::{App, CloseWhen, Config};
use support::netns::enter_private_namespace;
use support::privileges::drop_after_sudo;

// ANCHOR: ends
/// (a) Our client, and the kernel's server it talks to.
const RAW_CLIENT: SocketAddrV4 = CLIENT;
const KERNEL_SERVER: SocketAddrV4 = SERVER;
/// (b) Our server, and the kernel's client that talks to it.
const RAW_SERVER: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 50002);
const KERNEL_CLIENT: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50003);
// ANCHOR_END: ends

/// What the modes say first.
const CURRENT_NAMESPACE: &str = "namespace: the current one; a raw socket here reads \
     every TCP segment in it, other programs' too";

fn parse_command_line() -> Result<(Mode, Option<PathBuf>), UsageError> {
    // args_os: an argument that is not UTF-8 is an unknown one, not a panic.
    let args = std::env::args_os().skip(1);
    let args = args.map(|arg| arg.to_string_lossy().into_owned());
    let (pcap, rest) = take_pcap_option(args)?;
    Ok((args::parse(rest)?, pcap))
}

fn main() -> ExitCode {
    // First: SIGINT and SIGTERM blocked and readable from a signalfd, as in
    // steps 4 and 5.
    let signals = match Signals::new(&[Signal::SIGINT, Signal::SIGTERM]) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    support::program::exit_quietly_on_broken_pipe();
    let (mode, pcap) = match parse_command_line() {
        Ok((Mode::Help, _)) => {
            println!("{SYNOPSIS}\n\n{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("error: {error}\n\n{SYNOPSIS}");
            return ExitCode::from(2);
        }
    };
    let capture = match pcap {
        None => Capture::off(),
        Some(path) => match Capture::create(&path) {
            Ok(capture) => capture,
            Err(error) => {
                eprintln!("error: --pcap: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    let result = match mode {
        Mode::Help => Ok(ExitCode::SUCCESS),
        Mode::Demo { verbose } => {
            // While the process has one thread: a network of our own.
            match enter_private_namespace() {
                Ok(namespace) => println!("{namespace}"),
                Err(error) => {
                    eprint!("error: {error}");
                    return ExitCode::FAILURE;
                }
            }
            demo(signals, capture, verbose)
        }
        Mode::Client {
            me,
            peer,
            message,
            config,
            verbose,
        } => {
            let app = App::Client {
                peer,
                message,
                close_when: CloseWhen::PeerClosed,
                received: 0,
            };
            alone(
                "client",
                me,
                Some(peer),
                app,
                Some(1),
                config,
                verbose,
                signals,
                capture,
            )
        }
        Mode::Server {
            me,
            reply,
            count,
            config,
            verbose,
        } => {
            let app = App::Server {
                reply,
                answered: false,
            };
            alone(
                "server", me, None, app, count, config, verbose, signals, capture,
            )
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Any failure on the way, as the line to print.
type Fallible<T> = Result<T, String>;

// ANCHOR: demo
/// Both connections, one after the other, in the private namespace.
fn demo(signals: Signals, capture: Capture, verbose: bool) -> Fallible<ExitCode> {
    println!(
        "Sequence numbers count from each side's initial one, as tcpdump shows them."
    );
    // 1. The kernel must not answer the kernel's segments to our ports.
    for me in [RAW_CLIENT, RAW_SERVER] {
        print!("{}", silence(me).map_err(|e| e.to_string())?);
    }
    // 2. Every socket, then root is given up (when run through sudo).
    let listener = TcpListener::bind(KERNEL_SERVER)
        .map_err(|e| format!("bind({KERNEL_SERVER}): {e}"))?;
    println!("kernel: a std::net::TcpListener listens at {KERNEL_SERVER}");
    let output = Output::demo(verbose);
    let client = open_raw("client", RAW_CLIENT, Some(KERNEL_SERVER), &output)
        .map_err(|e| e.to_string())?;
    let server =
        open_raw("server", RAW_SERVER, None, &output).map_err(|e| e.to_string())?;
    let mut events = Loop::new(signals, capture, output, &[RAW_CLIENT, RAW_SERVER])
        .map_err(|e| e.to_string())?;
    if let Some(dropped) = drop_after_sudo().map_err(|e| e.to_string())? {
        println!("{dropped}");
    }
    let config = Config::default();

    println!("\n(a) our client, the kernel's server");
    let kernel = kernel_side::serve_once(listener, REQUEST.len(), REPLY.to_vec());
    let client = Endpoint {
        role: "client",
        socket: client,
        me: RAW_CLIENT,
        config,
        app: App::Client {
            peer: KERNEL_SERVER,
            message: REQUEST.to_vec(),
            // The kernel's echo reads until our FIN: we close first.
            close_when: CloseWhen::Received(REPLY.len()),
            received: 0,
        },
        connections: Some(1),
    };
    let a = events.run(&client).map_err(|e| e.to_string())?;
    let a_kernel = tell("kernel server", kernel.join());

    println!("\n(b) the kernel's client, our server");
    // Bound to 127.0.0.1 alone, our server's socket has read every segment
    // of (a) to that address: none of them is for it.
    let stale = drain_queued(&server).map_err(|e| e.to_string())?;
    println!("server: {stale} segments of (a) queued on its socket, dropped unread");
    let kernel = kernel_side::connect_once(
        KERNEL_CLIENT,
        RAW_SERVER,
        REQUEST.to_vec(),
        REPLY.len(),
    );
    let server = Endpoint {
        role: "server",
        socket: server,
        me: RAW_SERVER,
        config,
        app: App::Server {
            reply: REPLY.to_vec(),
            answered: false,
        },
        connections: Some(1),
    };
    let b = events.run(&server).map_err(|e| e.to_string())?;
    let b_kernel = tell("kernel client", kernel.join());

    println!(
        "\nwitness: {} segments to or from our two ends, RSTs among them: {}",
        events.witnessed, events.rsts
    );
    let rsts = events.rsts;
    finish_pcap(events, &output)?;
    let ok = completed(&a) && completed(&b) && a_kernel && b_kernel && rsts == 0;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
// ANCHOR_END: demo

/// Whether every connection closed in order (a signal counts as done).
fn completed(report: &Report) -> bool {
    report.stopped || report.connections.iter().all(|c| c.orderly())
}

/// Prints the account of the kernel's side; whether all went well.
fn tell(who: &str, joined: std::thread::Result<Account>) -> bool {
    match joined {
        Ok(account) => {
            for line in &account.lines {
                println!("{who}: {line}");
            }
            account.ok
        }
        Err(_) => {
            println!("{who}: its thread panicked");
            false
        }
    }
}

fn finish_pcap(events: Loop, output: &Output) -> Fallible<()> {
    match events.finish() {
        Some(Ok(line)) => output.say("pcap", line.trim_start_matches("pcap: ")),
        Some(Err(error)) => return Err(format!("--pcap: {error}")),
        None => {}
    }
    Ok(())
}

// ANCHOR: alone
/// `client` or `server`: our end alone, in the current namespace.
#[allow(clippy::too_many_arguments)]
fn alone(
    role: &'static str,
    me: SocketAddrV4,
    peer: Option<SocketAddrV4>,
    app: App,
    connections: Option<u64>,
    config: Config,
    verbose: bool,
    signals: Signals,
    capture: Capture,
) -> Fallible<ExitCode> {
    eprintln!("{CURRENT_NAMESPACE}");
    eprint!("{}", silence(me).map_err(|e| e.to_string())?);
    let output = Output::mode(verbose);
    let socket = open_raw(role, me, peer, &output).map_err(|e| e.to_string())?;
    let mut events =
        Loop::new(signals, capture, output, &[me]).map_err(|e| e.to_string())?;
    if let Some(dropped) = drop_after_sudo().map_err(|e| e.to_string())? {
        eprintln!("{dropped}");
    }
    let end = Endpoint {
        role,
        socket,
        me,
        config,
        app,
        connections,
    };
    let report = events.run(&end).map_err(|e| e.to_string())?;
    eprintln!(
        "witness: {} segments to or from {me}, RSTs among them: {}",
        events.witnessed, events.rsts
    );
    finish_pcap(events, &output)?;
    Ok(if completed(&report) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
// ANCHOR_END: alone
