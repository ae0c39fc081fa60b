//! `scripts/netns.sh`: the tutorial's two terminals, `server 127.0.0.1` in one
//! and `client 127.0.0.1` in the other, in one private namespace, without
//! root. Run as root (as in CI), the test runs the script as `nobody`, from a
//! copy that every user can read.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::BIN;
use nix::sys::signal::Signal;
use testkit::{NOBODY, PublicCopy, Running, is_root, run, skip};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/netns.sh");

/// The binary and the script, where the user who runs the test may run them:
/// as root, copies for `nobody`; otherwise the originals.
struct Setup {
    _copy: Option<PublicCopy>,
    binary: PathBuf,
    script: PathBuf,
}

impl Setup {
    fn new(test: &str) -> Setup {
        if !is_root() {
            return Setup {
                _copy: None,
                binary: PathBuf::from(BIN),
                script: PathBuf::from(SCRIPT),
            };
        }
        let copy = PublicCopy::new(BIN, test);
        let script = copy.dir().join("netns.sh");
        std::fs::copy(SCRIPT, &script).expect("copy the script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the script");
        Setup {
            binary: copy.path().to_owned(),
            _copy: Some(copy),
            script,
        }
    }

    /// `netns.sh ARGS...`, as `nobody` when the test runs as root.
    fn script(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.script);
        command.args(args);
        if is_root() {
            command
                .uid(NOBODY)
                .gid(NOBODY)
                .current_dir(dir_of(&self.script));
        }
        command
    }

    fn binary(&self) -> &str {
        self.binary.to_str().expect("a UTF-8 path")
    }
}

fn dir_of(path: &Path) -> &Path {
    path.parent().expect("a directory")
}

/// The two tests run one at a time: a fork by one while the other writes its
/// fresh copy of the binary would make the script's exec of that copy fail with
/// ETXTBSY, and the script, not this test, does that exec.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn the_script_runs_the_tutorials_two_terminals_without_root() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let test = "the_script_runs_the_tutorials_two_terminals_without_root";
    for tool in ["unshare", "nsenter", "ip"] {
        if testkit::find_program(tool).is_none() {
            return skip(test, &format!("`{tool}` is not installed"));
        }
    }
    let setup = Setup::new(test);

    // Terminal 1: the namespace, with the server as its first process.
    let mut server =
        Running::spawn(setup.script(&["--", setup.binary(), "server", "127.0.0.1"]));
    if !server.wait_for("in a second terminal, join it with:") {
        let finished = server.finish();
        return skip(
            test,
            &format!(
                "no namespace: {}",
                finished.stderr.lines().next().unwrap_or("")
            ),
        );
    }
    assert!(server.wait_for("until Ctrl+C"), "the server did not start");
    let pid = server.pid().to_string();

    // Terminal 2: joins it by the pid terminal 1 printed, and runs the client.
    let client = run(setup.script(&[
        "--enter",
        &pid,
        "--",
        setup.binary(),
        "client",
        "127.0.0.1",
        "--count",
        "2",
        "--interval",
        "20ms",
    ]));
    server.signal(Signal::SIGINT);
    let server = server.finish();

    assert!(
        server
            .stdout
            .contains(&format!("    {} --enter {pid}\n", setup.script.display())),
        "terminal 1 does not print the command for terminal 2:\n{}",
        server.stdout
    );
    assert!(
        server
            .stdout
            .contains("netns: a private user+network namespace with only lo (up)"),
        "{}",
        server.stdout
    );
    assert_eq!(client.code(), 0, "{client:?}");
    assert!(
        client
            .stdout
            .contains("client: sent 2 requests, 2 replies received, 0 lost"),
        "{}",
        client.stdout
    );
    assert_eq!(server.code(), 0, "{server:?}");
    assert!(
        server
            .stdout
            .contains("server: received 2 requests, sent 2 replies"),
        "{}",
        server.stdout
    );
}

#[test]
fn the_script_explains_its_mistakes() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let help = run({
        let mut command = Command::new(SCRIPT);
        command.arg("--help");
        command
    });
    assert_eq!(help.code(), 0, "{help:?}");
    for text in ["--enter PID", "util-linux", "iproute2", "server 127.0.0.1"] {
        assert!(help.stdout.contains(text), "{text} is not in --help");
    }
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["--enter"],
            2,
            "error: --enter needs the PID that terminal 1 printed",
        ),
        (
            &["--enter", "abc"],
            2,
            "error: --enter: 'abc' is not a process id",
        ),
        (
            &["--enter", "999999999"],
            1,
            "error: --enter: no process 999999999: is terminal 1's namespace still open?",
        ),
    ];
    for (args, code, message) in cases {
        let output = run({
            let mut command = Command::new(SCRIPT);
            command.args(*args);
            command
        });
        assert_eq!(output.code(), *code, "{args:?}: {output:?}");
        assert_eq!(output.stderr.trim_end(), *message, "{args:?}");
    }
}
