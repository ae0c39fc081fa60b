//! The program output step 6's pages show, made by running the program as the
//! book says. The book includes these snapshots, so what it shows is what the
//! code prints today.

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::{command, nft, nft_installed, run};
use testkit::{find_program, in_private_network, skip};

/// The first line says whose namespace the program made: it differs between
/// root and an ordinary user. The window scale the kernel offers in its SYN
/// follows its buffer sizes, which differ between machines.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"(?m)^namespace: a private .*$", "namespace: [private]"),
        (r"(?m)^namespace: uid \d+ runs .*$", "namespace: [private]"),
        (r"wscale \d+", "wscale [shift]"),
    ]
}

#[test]
fn demo() {
    let ran = run(command(&[]));
    if ran.skipped("demo") {
        return;
    }
    assert_eq!(ran.code(), 0, "{ran:?}");
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!("demo", ran.out());
    });
}

/// The demo recorded with `--pcap`, read back by tshark with checksum
/// validation on: one row per segment, with tshark's own relative sequence
/// numbers, its analysis flags (none) and its checksum verdict.
#[test]
fn demo_in_tshark() {
    let test = "demo_in_tshark";
    let Some(tshark) = find_program("tshark") else {
        skip(
            test,
            "`tshark` is not installed (Debian: apt-get install --no-install-recommends \
             tshark; .ci/run installs it)",
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let pcap = dir.join("handshake.pcap");
    let pcap = pcap.to_str().expect("a UTF-8 path");
    let demo = run(command(&["--pcap", pcap]));
    if demo.skipped(test) {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    assert_eq!(demo.code(), 0, "{demo:?}");
    let fields = [
        "frame.number",
        "ip.src",
        "tcp.srcport",
        "ip.dst",
        "tcp.dstport",
        "tcp.flags.str",
        "tcp.seq",
        "tcp.ack",
        "tcp.len",
        "tcp.analysis.flags",
        "tcp.checksum.status",
    ];
    let mut tshark = Command::new(tshark);
    tshark.args(["-r", pcap, "-o", "tcp.check_checksum:TRUE", "-T", "fields"]);
    for field in fields {
        tshark.args(["-e", field]);
    }
    let out = tshark.output().expect("tshark runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{out:?}");
    let header =
        "no.\tsrc\tsport\tdst\tdport\tflags\tseq\tack\tlen\tanalysis\tchecksum";
    let rows = String::from_utf8(out.stdout).expect("UTF-8");
    let mut table = String::new();
    for row in std::iter::once(header).chain(rows.lines()) {
        let c: Vec<&str> = row.split('\t').collect();
        assert_eq!(c.len(), 11, "{row}");
        let analysis = if c[9].is_empty() { "-" } else { c[9] };
        table += &format!(
            "{:<3} {:<9} {:<5} {:<9} {:<5} {:<12} {:<3} {:<3} {:<3} {:<8} {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], analysis, c[10]
        );
    }
    insta::assert_snapshot!("demo_in_tshark", table);
}

/// `client --peer-port 8000` where nothing listens on port 8000.
#[test]
fn client_refused() {
    let test = "client_refused";
    if !nft_installed(test) {
        return;
    }
    let Some(ran) = in_private_network(test, || {
        run(command(&["client", "--peer-port", "8000"]))
    }) else {
        return;
    };
    assert_eq!(ran.code(), 1, "{}", ran.stderr);
    insta::assert_snapshot!("client_refused", ran.stderr);
}

/// `client --peer-port 8000 --rto 200ms` to a kernel listener whose first
/// SYN-ACK an nft rule drops on its way out. The listener's reply and its
/// FIN go in one segment (TCP_CORK holds the reply until the close), so that
/// the run is the same every time.
#[test]
fn lost_syn_ack() {
    let test = "lost_syn_ack";
    if !nft_installed(test) {
        return;
    }
    let Some(ran) = in_private_network(test, || {
        nft("table ip loss {
            chain output {
                type filter hook output priority 0;
                ip saddr 127.0.0.1 tcp sport 8000 tcp flags & (syn | ack) == syn | ack \
                    numgen inc mod 1000000 == 0 drop
            }
        }");
        let listener = TcpListener::bind("127.0.0.1:8000").expect("bind");
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 12];
            stream.read_exact(&mut request).expect("the request");
            nix::sys::socket::setsockopt(
                &stream,
                nix::sys::socket::sockopt::TcpCork,
                &true,
            )
            .expect("TCP_CORK");
            stream.write_all(b"Hello client").expect("the reply");
            stream.shutdown(std::net::Shutdown::Write).expect("the FIN");
        });
        let ran = run(command(&[
            "client",
            "--peer-port",
            "8000",
            "--rto",
            "200ms",
        ]));
        server.join().expect("the server thread");
        ran
    }) else {
        return;
    };
    assert_eq!(ran.code(), 0, "{}", ran.stderr);
    insta::assert_snapshot!("lost_syn_ack", ran.stderr);
}
