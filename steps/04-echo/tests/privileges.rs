//! Least privilege: started as root through sudo, the demo becomes the user who
//! ran sudo once every socket is open, and the echo still exchanges all its
//! messages: raw sockets keep working after their owner gave up CAP_NET_RAW.
//!
//! The tests simulate sudo: as root they set `SUDO_UID` and `SUDO_GID` to
//! 65534 (nobody). Without root they say `skipped: ...` and pass.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use testkit::{PublicCopy, skip, skipped};

const BIN: &str = env!("CARGO_BIN_EXE_step-04-echo");

/// The line the program prints once it has dropped root for nobody.
const DROPPED: &str = "privileges: dropped to uid 65534 gid 65534 (from sudo); \
                       CapEff 0000000000000000 CapPrm 0000000000000000";

/// Runs the demo in `copy` with `args`, as root would under `sudo` for nobody.
/// `None` if the test cannot run here, after saying why.
fn demo_as_sudo(test: &str, copy: &PublicCopy, args: &[&str]) -> Option<Output> {
    if !testkit::is_root() {
        skip(
            test,
            "needs root: the test plays sudo by setting SUDO_UID as root",
        );
        return None;
    }
    let mut command = Command::new(copy.path());
    command
        .current_dir(copy.dir())
        .args(args)
        .env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534");
    let output = testkit::output(&mut command);
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if skipped(test, &output) {
        return None;
    }
    // Root that may not unshare a network namespace alone gets a user
    // namespace that maps root only: nobody else exists to become.
    if String::from_utf8_lossy(&output.stdout).contains("uid 0 runs as root") {
        skip(
            test,
            "root needs a user namespace here, which maps root alone",
        );
        return None;
    }
    Some(output)
}

#[test]
fn sudo_root_demo_exchanges_five_messages_as_the_invoking_user() {
    let test = "sudo_root_demo_exchanges_five_messages_as_the_invoking_user";
    let copy = PublicCopy::new(BIN, test);
    let Some(output) = demo_as_sudo(test, &copy, &[]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |prefix: &str| lines.iter().position(|l| l.starts_with(prefix));
    // Both sockets open first, then the drop, then the loop.
    let dropped = at("privileges: ").expect("a privileges line");
    assert_eq!(lines[dropped], DROPPED);
    assert!(
        at("client: socket(").is_some_and(|i| i < dropped),
        "{stdout}"
    );
    assert!(
        at("client: request 1").is_some_and(|i| dropped < i),
        "{stdout}"
    );
    // Every message still goes both ways, as nobody.
    let requests = stdout.matches("server: Received : Hello server").count();
    let replies = stdout.matches("client: Received : Hello client").count();
    assert_eq!((requests, replies), (5, 5), "{stdout}");
    assert!(
        stdout.contains("client: sent 5 requests, 5 replies received, 0 lost"),
        "{stdout}"
    );
}

#[test]
fn sudo_root_demo_still_writes_its_pcap() {
    let test = "sudo_root_demo_still_writes_its_pcap";
    let copy = PublicCopy::new(BIN, test);
    let pcap = copy.dir().join("echo.pcap");
    let path = pcap.to_str().expect("a UTF-8 path");
    let Some(output) = demo_as_sudo(test, &copy, &["--pcap", path]) else {
        return;
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains(DROPPED), "{stdout}");
    // 5 requests, 5 replies and the kernel's RST to each of the ten.
    assert!(
        stdout.contains(&format!("pcap: 20 packets written to {path}")),
        "{stdout}"
    );
    // Root created the file before the drop; nobody wrote it through the open
    // file after: the 24-byte header and 20 records of 16 + 52 or 40 bytes.
    let file = std::fs::metadata(&pcap).expect("the pcap file");
    assert_eq!((file.uid(), file.gid()), (0, 0), "root's file");
    assert_eq!(file.len(), 24 + 10 * (16 + 52) + 10 * (16 + 40));
}
