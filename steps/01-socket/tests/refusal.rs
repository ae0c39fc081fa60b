//! Where the system forbids user namespaces, the binary names the rule that
//! stopped it and the remedies, and exits 1: no panic, no backtrace.
//!
//! The test builds such a system without touching the host's settings:
//! `user.max_user_namespaces` is counted per user namespace, so inside a user
//! namespace of its own (root's map written from outside) it sets the limit to
//! 0, drops to uid 65534, and runs the binary there.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use step_01_socket::testing::{self, PublicCopy, skip};

const BIN: &str = env!("CARGO_BIN_EXE_step-01-socket");

#[test]
fn zero_user_namespaces_allowed_is_named_with_its_remedy() {
    let test = "zero_user_namespaces_allowed_is_named_with_its_remedy";
    if !testing::is_root() {
        skip(test, "needs root to write another namespace's uid map");
        return;
    }
    for tool in ["unshare", "setpriv"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        if !found {
            skip(
                test,
                &format!("{tool} (Debian package util-linux) is missing"),
            );
            return;
        }
    }
    // The only test in this file: no other thread forks while the copy is
    // written, so setpriv's exec of it cannot meet ETXTBSY (see
    // `testing::output`).
    let copy = PublicCopy::new(BIN, test);
    // The shell runs after unshare(CLONE_NEWUSER): it says "ready" and waits for
    // its uid map. Only a program it then executes is root in the namespace
    // (an exec while unmapped dropped the capabilities): that one lowers the
    // limit of user namespaces to 0 and becomes uid 65534.
    let script = "echo ready; read go; exec sh -c '\
         echo 0 > /proc/sys/user/max_user_namespaces || exit 97; \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups \"$0\"' \"$0\"";
    let mut child = Command::new("unshare")
        .args(["--user", "--", "sh", "-c", script])
        .arg(copy.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read ready");
    assert_eq!(
        line.trim(),
        "ready",
        "unshare --user did not start its shell"
    );
    let pid = child.id();
    for map in ["uid_map", "gid_map"] {
        fs::write(format!("/proc/{pid}/{map}"), "0 0 65536").expect("write the map");
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"go\n")
        .expect("release the shell");
    let output = child.wait_with_output().expect("the binary ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("--- stderr\n{stderr}");

    assert_eq!(
        output.status.code(),
        Some(1),
        "exit code; stderr:\n{stderr}"
    );
    assert!(
        stderr.starts_with("error: cannot enter a private network namespace: "),
        "{stderr}"
    );
    assert!(stderr.contains("user.max_user_namespaces = 0"), "{stderr}");
    assert!(
        stderr.contains("sudo sysctl -w user.max_user_namespaces=15000"),
        "{stderr}"
    );
    assert!(stderr.contains("sudo ./target/debug/"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
