//! The step-01 binary, run as a learner runs it: it enters its own network
//! namespace, opens the raw socket under both family names, and captures the
//! kernel's SYN and RST.
//!
//! Where no private namespace can be had (no root, user namespaces forbidden),
//! the capture tests print `skipped: ...` and pass: that refusal is the
//! binary's to report, and it does (see `support::netns`).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output, Stdio};

use testkit::{NOBODY, PublicCopy, skip, skipped};

const BIN: &str = env!("CARGO_BIN_EXE_step-01-socket");

fn run(command: &mut Command) -> Output {
    let output = testkit::output(command);
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Checks a capture of a connection attempt to 127.0.0.1:`port`: both sockets,
/// the kernel's SYN to the port and its RST|ACK from it, each read starting
/// with the IPv4 header.
fn assert_capture(stdout: &str, port: u16) {
    assert!(stdout.contains("AF_INET = 2, PF_INET = 2"), "{stdout}");
    for family in ["AF_INET", "PF_INET"] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(&format!("socket({family}, SOCK_RAW")))
            .unwrap_or_else(|| panic!("no socket({family}, ...) line in\n{stdout}"));
        assert!(line.contains("SO_TYPE 3 (SOCK_RAW = 3)"), "{line}");
        assert!(line.contains("SO_PROTOCOL 6"), "{line}");
    }

    // "packet N: LEN bytes, SUMMARY" then the dump, up to the next blank line.
    let packets: Vec<(&str, Vec<&str>)> = stdout
        .split("\n\n")
        .filter_map(|block| {
            let mut lines = block.lines();
            let head = lines.next()?;
            head.starts_with("packet ").then(|| (head, lines.collect()))
        })
        .collect();
    assert!(packets.len() >= 2, "fewer than 2 packets in\n{stdout}");
    for (head, dump) in &packets {
        assert_eq!(dump.first(), Some(&"IPv4 header, 20 bytes"), "{head}");
        assert!(
            dump.get(1).is_some_and(
                |l| l.starts_with("  0000  45") && l.contains("version 4")
            ),
            "{head}: the read does not start with 0x45\n{}",
            dump.join("\n")
        );
    }
    let server = format!("127.0.0.1:{port}");
    let syn = packets
        .iter()
        .find(|(head, _)| head.contains(&format!("> {server} [S] ")))
        .unwrap_or_else(|| panic!("no [S] to {server} in\n{stdout}"));
    let rst = packets
        .iter()
        .find(|(head, _)| {
            head.contains(&format!("TCP {server} > ")) && head.contains(" [R.] ")
        })
        .unwrap_or_else(|| panic!("no [R.] from {server} in\n{stdout}"));
    // The kernel's SYN carries options and a partial checksum.
    let syn_dump = syn.1.join("\n");
    assert!(syn_dump.contains("TCP header, 40 bytes"), "{syn_dump}");
    assert!(syn_dump.contains("option MSS"), "{syn_dump}");
    assert!(
        syn_dump.contains("(partial, pseudo-header only"),
        "{syn_dump}"
    );
    // The RST acknowledges the SYN: ack = the SYN's seq + 1.
    let seq = field_after(syn.0, " seq ");
    let ack = field_after(rst.0, " ack ");
    assert_eq!(ack, seq.wrapping_add(1), "{}\n{}", syn.0, rst.0);

    assert!(
        stdout.contains(&format!(
            "{} packets read, {0} starting with 0x45",
            packets.len()
        )),
        "{stdout}"
    );
}

/// The number after `key` in a summary line.
fn field_after(line: &str, key: &str) -> u32 {
    let rest = &line[line.find(key).expect(key) + key.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a number")
}

#[test]
fn captures_the_kernels_syn_and_reset() {
    let output = run(&mut Command::new(BIN));
    if skipped("captures_the_kernels_syn_and_reset", &output) {
        return;
    }
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("namespace: "), "{stdout}");
    assert!(
        stdout.contains("connecting a kernel TCP socket to 127.0.0.1:50000"),
        "{stdout}"
    );
    assert_capture(&stdout, 50000);
}

#[test]
fn port_option_changes_the_port() {
    let output = run(Command::new(BIN).args(["--port", "50123"]));
    if skipped("port_option_changes_the_port", &output) {
        return;
    }
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_capture(&stdout, 50123);
    assert!(!stdout.contains(":50000"), "{stdout}");
}

#[test]
fn bad_arguments_exit_2_with_the_usage() {
    for args in [
        &["--port", "x"][..],
        &["--port", "0"],
        &["--port", "65536"],
        &["--port"],
        &["--bogus"],
    ] {
        let output = run(Command::new(BIN).args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains("usage: step-01-socket [--port PORT]"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // An argument that is not UTF-8 is just another unknown argument.
    let not_utf8 = std::ffi::OsStr::from_bytes(b"--p\xffrt");
    let output = run(Command::new(BIN).arg(not_utf8));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}

#[test]
fn help_exits_0_with_the_usage() {
    for flag in ["--help", "-h"] {
        let output = run(Command::new(BIN).arg(flag));
        assert_eq!(output.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with("usage: step-01-socket [--port PORT]"),
            "{stdout}"
        );
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn a_closed_pipe_ends_it_quietly() {
    // `step-01-socket | head -1`: the reader goes away while the binary still
    // writes. It must end by SIGPIPE as a C program would, not panic.
    let mut child = Command::new(BIN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("it ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    if skipped("a_closed_pipe_ends_it_quietly", &output) {
        return;
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        output.status.success() || output.status.signal() == Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        output.status
    );
}

#[test]
fn nobody_captures_without_sudo_in_a_user_namespace() {
    const TEST: &str = "nobody_captures_without_sudo_in_a_user_namespace";
    if !testkit::is_root() {
        skip(
            TEST,
            &format!("needs root: only root can run the binary as uid {NOBODY}"),
        );
        return;
    }
    let copy = PublicCopy::new(BIN, TEST);
    let output = run(&mut copy.command_as_nobody());
    if skipped(TEST, &output) {
        return;
    }
    assert!(output.status.success(), "{:?}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with(
            "namespace: uid 65534 runs as root of a private user+network namespace"
        ),
        "{stdout}"
    );
    assert_capture(&stdout, 50000);
}

/// CAP_NET_RAW's number (linux/capability.h).
const CAP_NET_RAW: libc::c_ulong = 13;

/// Root with every capability but CAP_NET_RAW: the binary still enters a
/// private network namespace (that takes CAP_SYS_ADMIN), but `socket()` there
/// fails with EPERM, and the error names the call and lists the remedies.
#[test]
fn without_cap_net_raw_socket_fails_with_eperm_and_the_remedies() {
    const TEST: &str =
        "without_cap_net_raw_socket_fails_with_eperm_and_the_remedies";
    if !testkit::is_root() {
        skip(
            TEST,
            "needs root: only root can drop a capability for the child",
        );
        return;
    }
    let mut command = Command::new(BIN);
    // SAFETY: the closure runs in the forked child before exec and calls only
    // prctl, which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            // Take CAP_NET_RAW out of the bounding set: root keeps every other
            // capability after exec (CAP_SYS_ADMIN too, so the binary enters a
            // network namespace of its own), but not this one.
            let ret = libc::prctl(libc::PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);
            if ret == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = run(&mut command);
    if skipped(TEST, &output) {
        return;
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.starts_with("namespace: a private network namespace") {
        // Root could not unshare a network namespace (a container without
        // CAP_SYS_ADMIN): the binary made a user namespace, where it holds
        // every capability again.
        skip(TEST, "the binary fell back to a user namespace");
        return;
    }
    assert_eq!(output.status.code(), Some(1), "{:?}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: socket(AF_INET, SOCK_RAW, IPPROTO_TCP): EPERM: Operation not permitted"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Opening a raw socket needs CAP_NET_RAW. Remedies, any one of:"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("sudo setcap cap_net_raw+ep ./target/debug/step-01-socket"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
