//! Silencing the kernel: an nftables rule that drops the RSTs the kernel
//! sends from our raw end's address and port.
//!
//! The kernel owns every address of `lo`. A segment to a port on which no
//! kernel socket listens or is connected gets a RST from it (RFC 9293,
//! 3.10.7.1), and our raw end has no kernel socket: so each segment the peer
//! sends us is answered, in our name, with a RST, and the peer's TCP resets
//! the connection. A raw socket cannot stop that, nor can a filter on it (step
//! 5): the RST is the kernel's, sent whatever we read. Only a firewall rule on
//! the way out drops it: in the OUTPUT hook, RSTs from our address and port.
//!
//! Our own RSTs (our TCP sends some, as RFC 9293 asks) leave from the same
//! address and port, so the rule must tell them apart: our raw socket marks
//! everything it sends ([`mark_our_segments`], `SO_MARK`), and the rule drops
//! only RSTs without that mark.
//!
//! The rule goes into the namespace the program runs in: the demo's private
//! one, or the current one for `client` and `server`. Nothing else is changed,
//! and nothing outside that namespace.

use std::fmt;
use std::net::SocketAddrV4;
use std::path::PathBuf;
use std::process::Command;

use nix::sys::socket::{setsockopt, sockopt};
use step_01_socket::{RawSocket, SysError};

/// The mark our raw sockets put on every segment they send (any value but 0
/// would do; 6 is TCP's protocol number).
pub const MARK: u32 = 6;

/// The nftables table the rules go into.
pub const TABLE: &str = "step6";

/// Where `nft` is: on the PATH, or in `/usr/sbin` or `/sbin`, which an
/// ordinary user's PATH often lacks (Debian puts it there).
pub fn find_nft() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nft"))
        .find(|candidate| candidate.is_file())
}

// ANCHOR: rule
/// The rule, as `nft list ruleset` shows it: RSTs from `me` that do not carry
/// our mark are dropped.
pub fn rule(me: SocketAddrV4) -> String {
    format!(
        "ip saddr {} tcp sport {} tcp flags rst meta mark != 0x{MARK:08x} drop",
        me.ip(),
        me.port()
    )
}

/// The three `nft` commands that install it, each as its arguments: the
/// table and the chain on the OUTPUT hook (adding them again changes
/// nothing), then the rule.
pub fn commands(me: SocketAddrV4) -> [Vec<String>; 3] {
    let words = |text: &str| text.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let mut chain = words(&format!("add chain ip {TABLE} output"));
    chain.push("{ type filter hook output priority 0; }".to_owned());
    let mut add_rule = words(&format!("add rule ip {TABLE} output"));
    add_rule.extend(words(&rule(me)));
    [words(&format!("add table ip {TABLE}")), chain, add_rule]
}
// ANCHOR_END: rule

/// A command as a person types it in a shell: `nft` and its arguments, those
/// with spaces or `;` in single quotes.
pub fn shell_line(args: &[String]) -> String {
    let mut line = String::from("nft");
    for arg in args {
        line.push(' ');
        if arg.contains([' ', ';', '{', '}']) {
            line.push_str(&format!("'{arg}'"));
        } else {
            line.push_str(arg);
        }
    }
    line
}

/// What [`silence`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silenced {
    /// The raw end whose RSTs are dropped.
    pub me: SocketAddrV4,
    /// The commands run, as typed.
    pub typed: Vec<String>,
    /// The rule was there already (an earlier run in this namespace).
    pub already: bool,
}

impl fmt::Display for Silenced {
    /// The lines the program prints: what it typed, and why.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "nft: the kernel's RSTs from {} dropped on the way out, in this \
             namespace only (our own segments carry mark {MARK}):",
            self.me
        )?;
        for line in &self.typed {
            writeln!(f, "  {line}")?;
        }
        if self.already {
            writeln!(f, "  (the rule was in place already: not added twice)")?;
        }
        Ok(())
    }
}

/// Why the kernel could not be silenced.
#[derive(Debug)]
pub enum SilenceError {
    /// `nft` is not installed.
    NoNft,
    /// `nft` could not be started.
    Start(std::io::Error),
    /// An `nft` command failed.
    Failed {
        /// The command, as typed.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
    },
}

impl fmt::Display for SilenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SilenceError::NoNft => write!(
                f,
                "nft is not installed (not on the PATH, nor in /usr/sbin or /sbin): \
                 without its rule the kernel answers the peer's segments with RSTs \
                 in our name, and the peer's TCP resets each connection.\n\
                 Install the Debian package nftables: sudo apt-get install nftables"
            ),
            SilenceError::Start(error) => write!(f, "cannot run nft: {error}"),
            SilenceError::Failed {
                command,
                status,
                stderr,
            } => {
                write!(f, "{command}: failed ({status}): {}", stderr.trim_end())?;
                if stderr.contains("Operation not permitted") {
                    write!(
                        f,
                        "\nnft needs CAP_NET_ADMIN in this network namespace: run it \
                         as root, or in a namespace of your own (scripts/netns.sh)"
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SilenceError {}

fn run(nft: &PathBuf, args: &[String]) -> Result<String, SilenceError> {
    let output = Command::new(nft)
        .args(args)
        .output()
        .map_err(SilenceError::Start)?;
    if !output.status.success() {
        return Err(SilenceError::Failed {
            command: shell_line(args),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

// ANCHOR: silence
/// Installs the rule for `me` in the current network namespace, unless it is
/// there already, and says what it typed.
pub fn silence(me: SocketAddrV4) -> Result<Silenced, SilenceError> {
    let nft = find_nft().ok_or(SilenceError::NoNft)?;
    let [table, chain, add_rule] = commands(me);
    run(&nft, &table)?;
    run(&nft, &chain)?;
    let listed = run(
        &nft,
        &["list", "chain", "ip", TABLE, "output"].map(String::from),
    )?;
    let already = listed.lines().any(|line| line.trim() == rule(me));
    if !already {
        run(&nft, &add_rule)?;
    }
    Ok(Silenced {
        me,
        typed: [table, chain, add_rule]
            .iter()
            .map(|c| shell_line(c))
            .collect(),
        already,
    })
}
// ANCHOR_END: silence

/// Takes every rule [`silence`] installed out of the current network
/// namespace again: deletes the table that holds them (adding it first, so
/// that a namespace without it is no error). What shares the namespace, such
/// as a bench that measures an echo with the rule and without, then sees the
/// kernel's RSTs again.
pub fn unsilence() -> Result<(), SilenceError> {
    let nft = find_nft().ok_or(SilenceError::NoNft)?;
    run(&nft, &["add", "table", "ip", TABLE].map(String::from))?;
    run(&nft, &["delete", "table", "ip", TABLE].map(String::from))?;
    Ok(())
}

// ANCHOR: mark
/// `setsockopt(SO_MARK, MARK)`: every segment `socket` sends carries our mark,
/// so that the rule lets our own RSTs through. Needs CAP_NET_ADMIN, as `nft`
/// does.
pub fn mark_our_segments(socket: &RawSocket) -> Result<(), SysError> {
    setsockopt(socket, sockopt::Mark, &MARK)
        .map_err(|e| SysError::new(format!("setsockopt(SO_MARK, {MARK})"), e))
}
// ANCHOR_END: mark

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const ME: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 50001);

    #[test]
    fn the_rule_reads_as_nft_lists_it() {
        assert_eq!(
            rule(ME),
            "ip saddr 127.0.0.2 tcp sport 50001 tcp flags rst meta mark != 0x00000006 drop"
        );
    }

    #[test]
    fn the_commands_are_typed_as_a_person_would() {
        let lines: Vec<String> =
            commands(ME).iter().map(|c| shell_line(c)).collect();
        assert_eq!(
            lines,
            [
                "nft add table ip step6",
                "nft add chain ip step6 output '{ type filter hook output priority 0; }'",
                "nft add rule ip step6 output ip saddr 127.0.0.2 tcp sport 50001 \
                 tcp flags rst meta mark != 0x00000006 drop",
            ]
        );
    }

    #[test]
    fn a_missing_nft_names_the_package() {
        let text = SilenceError::NoNft.to_string();
        assert!(text.contains("apt-get install nftables"), "{text}");
    }
}
