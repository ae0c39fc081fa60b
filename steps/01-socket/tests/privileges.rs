//! Least privilege: started as root through sudo, the program becomes the user
//! who ran sudo as soon as its raw socket is open, and still captures the
//! kernel's SYN and RST.
//!
//! The tests simulate sudo: as root they set `SUDO_UID` and `SUDO_GID` to
//! 65534 (nobody), as sudo would for the user who ran it. They run a copy of
//! the program in a directory every user may enter. Without root they say
//! `skipped: ...` and pass.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use testkit::{NOBODY, PublicCopy, skip, skipped};

const BIN: &str = env!("CARGO_BIN_EXE_step-01-socket");

/// The line the program prints once it has dropped root for nobody.
const DROPPED: &str = "privileges: dropped to uid 65534 gid 65534 (from sudo); \
                       CapEff 0000000000000000 CapPrm 0000000000000000";

/// Runs `copy` with `args` as root, with `SUDO_UID` and `SUDO_GID` set to
/// `ids` (or without them for `None`). `None` if the test cannot run here,
/// after saying why.
fn run_as_sudo(
    test: &str,
    copy: &PublicCopy,
    ids: Option<&str>,
    args: &[&str],
) -> Option<Output> {
    let mut command = Command::new(copy.path());
    command.args(args);
    run_with_sudo_ids(test, copy, command, ids)
}

/// [`run_as_sudo`] for a `command` that starts the copy itself.
fn run_with_sudo_ids(
    test: &str,
    copy: &PublicCopy,
    mut command: Command,
    ids: Option<&str>,
) -> Option<Output> {
    if !testkit::is_root() {
        skip(
            test,
            "needs root: the test plays sudo by setting SUDO_UID as root",
        );
        return None;
    }
    command.current_dir(copy.dir());
    match ids {
        Some(id) => command.env("SUDO_UID", id).env("SUDO_GID", id),
        None => command.env_remove("SUDO_UID").env_remove("SUDO_GID"),
    };
    let output = show(testkit::output(&mut command));
    if skipped(test, &output) {
        return None;
    }
    // Root that may not unshare a network namespace alone (a container) gets
    // a user namespace that maps root only: nobody else exists to become.
    if stdout(&output).contains("uid 0 runs as root of a private user+network") {
        skip(
            test,
            "root needs a user namespace here, which maps root alone",
        );
        return None;
    }
    Some(output)
}

/// Whether a program is on the PATH.
fn have(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    })
}

/// Prints what the program wrote, for a failing test's report.
fn show(output: Output) -> Output {
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The index of the first line that starts with `prefix`.
fn line_of(stdout: &str, prefix: &str) -> Option<usize> {
    stdout.lines().position(|line| line.starts_with(prefix))
}

/// The kernel's SYN to 127.0.0.1:50000 and its RST|ACK back were read.
fn assert_syn_and_rst(stdout: &str) {
    let packets: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("packet "))
        .collect();
    assert!(
        packets.iter().any(|l| l.contains("> 127.0.0.1:50000 [S] ")),
        "no SYN in\n{stdout}"
    );
    assert!(
        packets
            .iter()
            .any(|l| l.contains("TCP 127.0.0.1:50000 > ") && l.contains(" [R.] ")),
        "no RST|ACK in\n{stdout}"
    );
}

#[test]
fn sudo_root_drops_to_the_invoking_user() {
    let test = "sudo_root_drops_to_the_invoking_user";
    let copy = PublicCopy::new(BIN, test);
    let Some(output) = run_as_sudo(test, &copy, Some("65534"), &[]) else {
        return;
    };
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    // The ids and capabilities as the kernel reported them after the drop.
    let dropped = line_of(&stdout, "privileges: ").expect("a privileges line");
    assert_eq!(stdout.lines().nth(dropped), Some(DROPPED));
    // After both raw sockets were opened, before anything was sent.
    let opened = line_of(&stdout, "socket(PF_INET, SOCK_RAW").expect("PF_INET");
    let connecting = line_of(&stdout, "connecting a kernel TCP socket").unwrap();
    assert!(opened < dropped && dropped < connecting, "{stdout}");
    // The open socket still reads without any capability.
    assert_syn_and_rst(&stdout);
}

#[test]
fn root_groups_and_inheritable_capabilities_do_not_survive() {
    // sudo gives root its supplementary groups; a parent may also leave
    // capabilities in the inheritable and ambient sets, which setresuid alone
    // does not empty. setpriv(1) starts the program with all three.
    let test = "root_groups_and_inheritable_capabilities_do_not_survive";
    if !have("setpriv") {
        skip(test, "`setpriv` (util-linux) is not installed");
        return;
    }
    let copy = PublicCopy::new(BIN, test);
    let mut setpriv = Command::new("setpriv");
    setpriv
        .args([
            "--groups=4,27",
            "--inh-caps=+net_raw",
            "--ambient-caps=+net_raw",
        ])
        .arg("--")
        .arg(copy.path());
    let Some(output) = run_with_sudo_ids(test, &copy, setpriv, Some("65534")) else {
        return;
    };
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    // The check after the drop found no group and no capability left.
    assert!(stdout.contains(DROPPED), "{stdout}");
    assert_syn_and_rst(&stdout);
}

#[test]
fn a_file_created_before_the_drop_is_still_written() {
    let test = "a_file_created_before_the_drop_is_still_written";
    let copy = PublicCopy::new(BIN, test);
    let pcap = copy.dir().join("capture.pcap");
    let path = pcap.to_str().expect("a UTF-8 path");
    let Some(output) = run_as_sudo(test, &copy, Some("65534"), &["--pcap", path])
    else {
        return;
    };
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(DROPPED), "{stdout}");
    assert_syn_and_rst(&stdout);
    // Created by root before the drop, and written to through the open file
    // by nobody after it: the 24-byte header, then the packets.
    let line = line_of(&stdout, "pcap: ").map(|i| stdout.lines().nth(i));
    let written = line.flatten().expect("a pcap line");
    assert!(written.starts_with("pcap: 2 packets written"), "{written}");
    let file = std::fs::metadata(&pcap).expect("the pcap file");
    assert_eq!((file.uid(), file.gid()), (0, 0), "root's file");
    assert!(file.len() > 24 + 2 * (16 + 40), "{} bytes", file.len());
}

#[test]
fn a_malformed_sudo_uid_is_an_error_that_names_it() {
    let test = "a_malformed_sudo_uid_is_an_error_that_names_it";
    let copy = PublicCopy::new(BIN, test);
    let Some(output) = run_as_sudo(test, &copy, Some("abc"), &[]) else {
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr.starts_with("error: environment: SUDO_UID=\"abc\" is not an id"),
        "{stderr}"
    );
    // It stops before anything is sent, still as root: never running on with
    // privileges it was asked to give up.
    let stdout = stdout(&output);
    assert_eq!(line_of(&stdout, "privileges: "), None);
    assert_eq!(line_of(&stdout, "connecting"), None, "{stdout}");
}

#[test]
fn sudo_run_by_root_drops_nothing() {
    // SUDO_UID=0: root ran sudo, and there is nobody less privileged to be.
    let test = "sudo_run_by_root_drops_nothing";
    let copy = PublicCopy::new(BIN, test);
    let Some(output) = run_as_sudo(test, &copy, Some("0"), &[]) else {
        return;
    };
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(line_of(&stdout, "privileges: "), None, "{stdout}");
    assert_syn_and_rst(&stdout);
}

#[test]
fn root_without_sudo_drops_nothing() {
    let test = "root_without_sudo_drops_nothing";
    let copy = PublicCopy::new(BIN, test);
    let Some(output) = run_as_sudo(test, &copy, None, &[]) else {
        return;
    };
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(line_of(&stdout, "privileges: "), None, "{stdout}");
    assert_syn_and_rst(&stdout);
}

#[test]
fn the_private_user_namespace_has_nothing_to_drop() {
    // Without sudo, the program is root of its own user namespace, where uid
    // 0 stands for the user outside and no other uid exists. A SUDO_UID left
    // in the environment (by a shell that sudo started) changes nothing.
    let test = "the_private_user_namespace_has_nothing_to_drop";
    let copy = PublicCopy::new(BIN, test);
    let mut command = if testkit::is_root() {
        copy.command_as_nobody()
    } else {
        Command::new(copy.path())
    };
    command.env("SUDO_UID", "65534").env("SUDO_GID", "65534");
    let output = show(testkit::output(&mut command));
    if skipped(test, &output) {
        return;
    }
    let stdout = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    if testkit::is_root() {
        let namespace = format!("namespace: uid {NOBODY} runs as root of a private");
        assert!(stdout.starts_with(&namespace), "{stdout}");
    }
    assert_eq!(line_of(&stdout, "privileges: "), None, "{stdout}");
    assert_syn_and_rst(&stdout);
}
