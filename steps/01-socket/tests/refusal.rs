//! Where the system forbids user namespaces, the binary names the rule that
//! stopped it and the remedies, and exits 1: no panic, no backtrace.
//!
//! The test builds such a system without touching the host's settings, as an
//! ordinary user as well as root: `user.max_user_namespaces` is counted per
//! user namespace, so inside a user namespace of its own (util-linux
//! `unshare --user --map-root-user`) it sets the limit to 0 for everything
//! nested there, takes CAP_SYS_ADMIN out of the bounding set (so the binary,
//! though uid 0 there, cannot unshare a network namespace alone and falls back
//! to a user namespace, as an ordinary user's would), and runs the binary.

use std::process::{Command, Stdio};

use testkit::skip;

const BIN: &str = env!("CARGO_BIN_EXE_step-01-socket");

#[test]
fn zero_user_namespaces_allowed_is_named_with_its_remedy() {
    let test = "zero_user_namespaces_allowed_is_named_with_its_remedy";
    for tool in ["unshare", "setpriv"] {
        if testkit::find_program(tool).is_none() {
            skip(
                test,
                &format!("{tool} (Debian package util-linux) is missing"),
            );
            return;
        }
    }
    let script = "echo 0 > /proc/sys/user/max_user_namespaces || exit 97; \
         exec setpriv --bounding-set=-sys_admin \"$0\"";
    let child = Command::new("unshare")
        .args(["--user", "--map-root-user", "--", "sh", "-c", script, BIN])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs");
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
