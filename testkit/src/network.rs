//! A private network for a test: the test re-run in a network namespace of its
//! own, and what it may do there that it may not do outside (load firewall
//! rules, send whole hand-made IPv4 packets).

use std::ffi::CString;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, unshare};
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, sendto,
    socket,
};
use nix::sys::stat::Mode;
use nix::unistd::write;
use support::netns::{NamespaceError, bring_lo_up, refusal_for};

use crate::skip;

// ANCHOR: in_private_network
/// Runs the test `test` in a private network namespace of its own (only `lo`,
/// up), as an ordinary user as well as root, and returns `Some(body())` there;
/// write the test as
/// `let Some(value) = in_private_network(name, || ...) else { return };`
/// followed by its assertions.
///
/// A test cannot enter such a namespace itself: an ordinary user needs a user
/// namespace around it, and `unshare(CLONE_NEWUSER)` fails with EINVAL in a
/// process with more than one thread, which a libtest process always is. So the
/// test runs itself again: this process starts its own executable with
/// `test --exact`, and the child, between `fork` and `exec` while it has one
/// thread, unshares the namespaces (the network alone as root; a user namespace
/// around it otherwise, with uid and gid 0 inside mapped to ours, which gives
/// CAP_NET_RAW and CAP_NET_ADMIN over the new network). In that child this
/// function brings `lo` up and returns `Some(body())`, so the whole test runs
/// there, assertions included; programs it starts inherit the namespace. In
/// the parent it waits for the child, fails if the child failed, and returns
/// `None`: the test is done.
///
/// Where the system forbids user namespaces, [`skip`] says which rule did and
/// this returns `None`.
///
/// # Panics
/// In the parent, if the child test failed (its output is in the message) or
/// ran no test (`test` is not the test's exact name); in the child, as `body`
/// does.
pub fn in_private_network<T>(test: &str, body: impl FnOnce() -> T) -> Option<T> {
    if std::env::var_os(INSIDE).is_some_and(|name| name == test) {
        if let Err(error) = bring_lo_up() {
            panic!("in the test's namespace: {error}");
        }
        return Some(body());
    }
    if let Some(thread) = std::thread::current().name()
        && thread != "main"
        && thread != test
    {
        panic!("in_private_network({test:?}) called from the test {thread:?}");
    }
    let exe = std::env::current_exe().expect("the test's own executable");
    let mut command = Command::new(exe);
    command
        // --include-ignored: an #[ignore]d test (an exercise check) that the
        // parent runs must run in the child too.
        .args([test, "--exact", "--include-ignored", "--nocapture"])
        .arg("--test-threads=1")
        .env(INSIDE, test)
        .stdin(Stdio::null());
    let enter = EnterNamespace::new();
    // pre_exec is unsafe in the standard library, and nix has no way to run
    // code between fork and exec either.
    // SAFETY: the closure runs in the forked child before exec and only makes
    // system calls on data prepared before the fork: no allocation, no lock.
    unsafe { command.pre_exec(move || enter.run()) };
    let output = match command.output() {
        Ok(output) => output,
        // The child's unshare, open or write failed (or its exec did), and
        // the error it set came back.
        Err(error) if error.raw_os_error().is_some() => {
            let errno = Errno::from_raw(error.raw_os_error().unwrap_or_default());
            skip(test, &namespace_refusal(errno));
            return None;
        }
        Err(error) => panic!("cannot run {test} again in its namespace: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{test}, run in a private network namespace, failed ({}):\n\
         --- its stdout:\n{stdout}\n--- its stderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the re-run with `{test} --exact` ran no test: is {test:?} the test's \
         full name?\n{stdout}"
    );
    // What the body printed shows with --nocapture or on failure, as usual;
    // a skip inside it shows always.
    print!("{stdout}");
    for line in stderr.lines().filter(|l| l.starts_with("skipped: ")) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    None
}
// ANCHOR_END: in_private_network

/// Set in the child that [`in_private_network`] starts, to the test's name.
const INSIDE: &str = "WORKBOOK_TEST_IN_PRIVATE_NETWORK";

/// The system calls that put the forked child of [`in_private_network`] into
/// its namespaces, with every string they need made before the fork.
struct EnterNamespace {
    /// Root needs no user namespace: the network namespace alone.
    root: bool,
    /// `/proc/self/setgroups`, `/proc/self/uid_map`, `/proc/self/gid_map` and
    /// what to write into each.
    writes: [(CString, CString); 3],
}

impl EnterNamespace {
    fn new() -> EnterNamespace {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        let c = |s: String| CString::new(s).expect("no NUL");
        EnterNamespace {
            root: uid == 0,
            writes: [
                (c("/proc/self/setgroups".into()), c("deny".into())),
                (c("/proc/self/uid_map".into()), c(format!("0 {uid} 1"))),
                (c("/proc/self/gid_map".into()), c(format!("0 {gid} 1"))),
            ],
        }
    }

    /// Runs in the child between fork and exec, with one thread: system
    /// calls only, on the strings made before the fork (a `&CStr` path is
    /// passed to `open` as it is, and an errno becomes an `io::Error` without
    /// allocating).
    fn run(&self) -> io::Result<()> {
        if self.root {
            return Ok(unshare(CloneFlags::CLONE_NEWNET)?);
        }
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET)?;
        for (path, text) in &self.writes {
            let flags = OFlag::O_WRONLY | OFlag::O_CLOEXEC;
            let file = open(path.as_c_str(), flags, Mode::empty())?;
            // The kernel takes each of these files whole, in one write(2), or
            // fails the call. The fd closes when `file` is dropped.
            write(&file, text.as_bytes())?;
        }
        Ok(())
    }
}

/// Why the child could not enter its namespace, with the rule that forbids it
/// where one can be told (the same diagnosis the step programs print).
fn namespace_refusal(errno: Errno) -> String {
    let error = NamespaceError {
        call: "unshare(CLONE_NEWUSER | CLONE_NEWNET) and its uid map".into(),
        errno,
        refusal: refusal_for(errno),
    };
    error
        .to_string()
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `nft` is installed (on the PATH, or in `/usr/sbin` or `/sbin`); if
/// not, says that `test` is skipped and why. Call it before the test enters its
/// namespace, so that a skip is said once.
pub fn nft_installed(test: &str) -> bool {
    if crate::find_program("nft").is_some() {
        return true;
    }
    skip(
        test,
        "`nft` is not installed (Debian: apt-get install nftables; \
         .ci/run installs it)",
    );
    false
}

/// Loads nftables `rules` (`nft -f -` syntax) into the calling test's network
/// namespace. There the test is root of its own user namespace and holds
/// CAP_NET_ADMIN over the network, so this needs no root.
///
/// # Panics
/// If `nft` is missing (see [`nft_installed`]) or refuses the rules: in the
/// test's own namespace it must not.
pub fn nft(rules: &str) {
    let nft = crate::find_program("nft").expect("nft is installed");
    let mut child = Command::new(&nft)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", nft.display()));
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(rules.as_bytes())
        .expect("write the rules to nft");
    let loaded = child.wait_with_output().expect("nft ends");
    assert!(
        loaded.status.success(),
        "nft refused the rules ({}): {}\n{rules}",
        loaded.status,
        String::from_utf8_lossy(&loaded.stderr)
    );
}

/// Writes whole IPv4 packets, header included, as the test builds them:
/// `socket(AF_INET, SOCK_RAW, IPPROTO_RAW)`, on which IP_HDRINCL is implied.
/// The kernel still fills in the total length and the header checksum (and an
/// identification of 0), and delivers the packet to every raw TCP socket of
/// the namespace before its own TCP looks at it. Open it in the test's
/// namespace.
pub struct Injector {
    fd: OwnedFd,
}

impl Injector {
    /// The socket, in the calling thread's network namespace.
    pub fn open() -> Result<Injector, Errno> {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::Raw,
        )?;
        Ok(Injector { fd })
    }

    /// Sends `packet` (IPv4 header first) towards its destination address.
    pub fn send(&self, packet: &[u8]) -> Result<(), Errno> {
        let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        let to = SockaddrIn::from(std::net::SocketAddrV4::new(dst, 0));
        let sent = sendto(self.fd.as_raw_fd(), packet, &to, MsgFlags::empty())?;
        assert_eq!(sent, packet.len(), "a raw send is all or nothing");
        Ok(())
    }
}
