//! Least privilege: a step program started as root through sudo becomes the
//! user who ran sudo as soon as its sockets are open.
//!
//! Opening a raw socket needs CAP_NET_RAW; using it does not. The kernel checks
//! the capability once, in `socket()`, and an open socket keeps what it was
//! allowed then: `bind`, `connect`, `write` and `recv` on it check nothing. So
//! a program run with `sudo` needs root for its first few calls only, and
//! [`drop_after_sudo`] gives root up right after them: every later bug runs
//! with the rights of the learner, not of root.
//!
//! sudo(8) leaves the ids of the user who ran it in the environment, as
//! `SUDO_UID` and `SUDO_GID`. Nothing is dropped when
//! - the process is not root (it has nothing to give up), or
//! - `SUDO_UID` is not set (root logged in as root) or is 0 (root ran sudo):
//!   there is nobody less privileged to become, or
//! - uid 0 here is an ordinary user outside: the private user namespace that
//!   [`crate::netns`] enters without sudo, where root is the learner already, or
//! - the user namespace maps uid 0 alone (`unshare --map-root-user`): the
//!   invoking user does not exist there.

use std::ffi::OsStr;
use std::fmt;
use std::fs;

use nix::errno::Errno;
use nix::sys::prctl::set_no_new_privs;
use nix::unistd::{Gid, Uid, geteuid, setgroups, setresgid, setresuid};

use crate::Error;

/// Where the kernel shows the calling thread's ids and capabilities (proc(5)).
pub const STATUS: &str = "/proc/thread-self/status";

/// The user who ran sudo, as sudo(8) records it: `SUDO_UID` and `SUDO_GID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SudoUser {
    /// `SUDO_UID`.
    pub uid: u32,
    /// `SUDO_GID`.
    pub gid: u32,
}

/// What the kernel reports after the drop: the ids the thread now runs with,
/// and its effective and permitted capabilities (all zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// The uid: real, effective, saved and filesystem alike.
    pub uid: u32,
    /// The gid: real, effective, saved and filesystem alike.
    pub gid: u32,
    /// `CapEff`: what the kernel checks on each privileged call.
    pub cap_eff: u64,
    /// `CapPrm`: what the thread could still make effective.
    pub cap_prm: u64,
}

impl fmt::Display for Dropped {
    /// The line a step program prints once it has dropped root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "privileges: dropped to uid {} gid {} (from sudo); \
             CapEff {:016x} CapPrm {:016x}",
            self.uid, self.gid, self.cap_eff, self.cap_prm
        )
    }
}

// ANCHOR: drop_after_sudo
/// Becomes the user who ran sudo, with no capability left, if the process is
/// root through sudo; returns what the kernel then reports. `Ok(None)`: there
/// was nothing to drop (see the module's doc).
///
/// Call it after the last socket is open and before any thread starts.
///
/// # Errors
/// A malformed `SUDO_UID` or `SUDO_GID` (named, with its value), a failed call
/// (named, with its arguments), or a thread that still holds an id or a
/// capability it should not (what `/proc/thread-self/status` says).
pub fn drop_after_sudo() -> Result<Option<Dropped>, Error> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    let sudo_uid = std::env::var_os("SUDO_UID");
    if sudo_uid.is_none() {
        return Ok(None);
    }
    let (uid_map, gid_map) =
        (read("/proc/self/uid_map")?, read("/proc/self/gid_map")?);
    // Root of the private user namespace: uid 0 stands for the learner's own
    // uid outside, and SUDO_UID, if set, was not left for this process.
    if map_id(&uid_map, 0) != Some(0) {
        return Ok(None);
    }
    let sudo_gid = std::env::var_os("SUDO_GID");
    let Some(user) = parse_sudo_user(sudo_uid.as_deref(), sudo_gid.as_deref())?
    else {
        return Ok(None);
    };
    if map_id(&uid_map, user.uid).is_none() || map_id(&gid_map, user.gid).is_none() {
        return Ok(None);
    }
    let before = Credentials::read(STATUS)?;
    if before.threads != 1 {
        return Err(Error::invalid(
            "drop_after_sudo",
            format!(
                "{} threads run; drop root before any starts",
                before.threads
            ),
        ));
    }
    become_user(user)?;
    let after = Credentials::read(STATUS)?;
    after
        .check_dropped(user)
        .map(Some)
        .map_err(|why| Error::invalid(format!("after the drop, {STATUS}"), why))
}
// ANCHOR_END: drop_after_sudo

// ANCHOR: become_user
/// The calls, in an order that works: groups and gids while the thread is
/// still root, the uids last; then what the uid change leaves.
fn become_user(user: SudoUser) -> Result<(), Error> {
    let (uid, gid) = (user.uid, user.gid);
    // No supplementary groups: root's would survive the gid change.
    setgroups(&[]).map_err(|e| Error::sys("setgroups([])", e))?;
    // Real, effective and saved gid, while we may still change them.
    let g = Gid::from_raw(gid);
    setresgid(g, g, g)
        .map_err(|e| Error::sys(format!("setresgid({gid}, {gid}, {gid})"), e))?;
    // Real, effective and saved uid: with no 0 left among them, the kernel
    // empties the permitted, effective and ambient capabilities (no
    // SECBIT_KEEP_CAPS is set), and the thread can never become root again
    // (capabilities(7)).
    let u = Uid::from_raw(uid);
    setresuid(u, u, u)
        .map_err(|e| Error::sys(format!("setresuid({uid}, {uid}, {uid})"), e))?;
    clear_capabilities()?;
    // No exec can grant anything again: no setuid bit, no file capability.
    set_no_new_privs()
        .map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS, 1)", e))?;
    Ok(())
}
// ANCHOR_END: become_user

/// `capset` with every set empty. After `setresuid` the inheritable set is the
/// only one the kernel left as it was; emptying it empties the ambient set as
/// well (ambient must lie within permitted and inheritable). Lowering
/// capabilities needs no privilege.
fn clear_capabilities() -> Result<(), Error> {
    /// `struct __user_cap_header_struct` (linux/capability.h).
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    /// `struct __user_cap_data_struct`: 32 capabilities of each set.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    /// `_LINUX_CAPABILITY_VERSION_3`: 64 capabilities, in two `Data`.
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let empty = Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    };
    let data = [empty; 2];
    // nix has no capset (nor any capability call): libc's raw syscall.
    // SAFETY: header is a valid version-3 header for the calling thread (pid
    // 0), which the kernel may write its preferred version into; data points
    // to the two Data structs version 3 reads. Both live across the call.
    let ret = unsafe {
        libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr())
    };
    Errno::result(ret).map_err(|e| Error::sys("capset(all sets empty)", e))?;
    Ok(())
}

/// Reads a small file of /proc, the error naming it.
fn read(path: &str) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| Error::io(format!("read({path})"), e))
}

/// The `SUDO_UID` and `SUDO_GID` values, checked. `None` if `SUDO_UID` is
/// unset, or 0 (root ran sudo: there is nobody less privileged to become).
///
/// # Errors
/// `SUDO_UID` or `SUDO_GID` that is not a decimal id below 4294967295 (that
/// one means "leave unchanged" to `setresuid`), `SUDO_UID` without
/// `SUDO_GID`, or `SUDO_GID=0` for a user other than root (their gid would
/// keep group root's files open to them).
pub fn parse_sudo_user(
    sudo_uid: Option<&OsStr>,
    sudo_gid: Option<&OsStr>,
) -> Result<Option<SudoUser>, Error> {
    let Some(uid) = sudo_uid else {
        return Ok(None);
    };
    let uid = parse_id("SUDO_UID", uid)?;
    if uid == 0 {
        return Ok(None);
    }
    let Some(gid) = sudo_gid else {
        return Err(Error::invalid(
            "environment",
            format!("SUDO_UID={uid} is set but SUDO_GID is not"),
        ));
    };
    let gid = parse_id("SUDO_GID", gid)?;
    if gid == 0 {
        return Err(Error::invalid(
            "environment",
            format!("SUDO_GID=0 for SUDO_UID={uid}: not dropping to group root"),
        ));
    }
    Ok(Some(SudoUser { uid, gid }))
}

/// One id from the environment: decimal digits, below `u32::MAX` (-1).
fn parse_id(name: &str, value: &OsStr) -> Result<u32, Error> {
    let text = value.to_str().unwrap_or_default();
    let id = text
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u32>().ok())
        .flatten()
        .filter(|id| *id != u32::MAX);
    id.ok_or_else(|| {
        Error::invalid(
            "environment",
            format!("{name}={value:?} is not an id (decimal, 0 to 4294967294)"),
        )
    })
}

/// The id outside that `inside` stands for, by a `/proc/PID/uid_map` or
/// `gid_map` text (lines of `inside outside count`, user_namespaces(7));
/// `None` if the map leaves it out.
pub fn map_id(map: &str, inside: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>().ok());
        let (Some(Some(first)), Some(Some(outside)), Some(Some(count))) =
            (numbers.next(), numbers.next(), numbers.next())
        else {
            return None;
        };
        let offset = u64::from(inside).checked_sub(first)?;
        (offset < count)
            .then(|| u32::try_from(outside + offset).ok())
            .flatten()
    })
}

/// What `/proc/PID/status` says a thread may do (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `Uid:`: real, effective, saved and filesystem uid.
    pub uids: [u32; 4],
    /// `Gid:`: real, effective, saved and filesystem gid.
    pub gids: [u32; 4],
    /// `Groups:`: the supplementary groups.
    pub groups: Vec<u32>,
    /// `CapInh:`: what an exec may pass on.
    pub cap_inh: u64,
    /// `CapPrm:`: what the thread may make effective.
    pub cap_prm: u64,
    /// `CapEff:`: what the kernel checks.
    pub cap_eff: u64,
    /// `CapAmb:`: what an exec keeps without file capabilities.
    pub cap_amb: u64,
    /// `NoNewPrivs:`: whether an exec can no longer gain anything.
    pub no_new_privs: bool,
    /// `Threads:`: the threads of the process.
    pub threads: u32,
}

impl Credentials {
    /// Reads and parses `path` (e.g. [`STATUS`]).
    pub fn read(path: &str) -> Result<Credentials, Error> {
        Credentials::parse(&read(path)?)
            .map_err(|why| Error::invalid(format!("parse {path}"), why))
    }

    /// Parses the text of a `/proc/PID/status`; the error names the line
    /// that is missing or malformed.
    pub fn parse(status: &str) -> Result<Credentials, String> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
                .ok_or_else(|| format!("no {name} line"))
        };
        let ids = |name: &str| -> Result<[u32; 4], String> {
            let text = field(name)?;
            let ids: Vec<u32> = text
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("{name} {text:?} is not four ids"))?;
            ids.try_into()
                .map_err(|_| format!("{name} {text:?} is not four ids"))
        };
        let mask = |name: &str| -> Result<u64, String> {
            let text = field(name)?;
            u64::from_str_radix(text, 16)
                .map_err(|_| format!("{name} {text:?} is not a hex mask"))
        };
        let number = |name: &str| -> Result<u32, String> {
            let text = field(name)?;
            text.parse()
                .map_err(|_| format!("{name} {text:?} is not a number"))
        };
        let groups = field("Groups")?;
        Ok(Credentials {
            uids: ids("Uid")?,
            gids: ids("Gid")?,
            groups: groups
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| format!("Groups {groups:?} are not ids"))?,
            cap_inh: mask("CapInh")?,
            cap_prm: mask("CapPrm")?,
            cap_eff: mask("CapEff")?,
            cap_amb: mask("CapAmb")?,
            no_new_privs: number("NoNewPrivs")? == 1,
            threads: number("Threads")?,
        })
    }

    /// Whether these are the credentials of a thread that became `user` with
    /// nothing left over: all four ids its own, no supplementary group, every
    /// capability set empty, no new privileges. The error says what is not.
    pub fn check_dropped(&self, user: SudoUser) -> Result<Dropped, String> {
        if self.uids != [user.uid; 4] {
            return Err(format!("Uid {:?}, not {} four times", self.uids, user.uid));
        }
        if self.gids != [user.gid; 4] {
            return Err(format!("Gid {:?}, not {} four times", self.gids, user.gid));
        }
        if !self.groups.is_empty() {
            return Err(format!("Groups {:?}, not none", self.groups));
        }
        let sets = [
            ("CapInh", self.cap_inh),
            ("CapPrm", self.cap_prm),
            ("CapEff", self.cap_eff),
            ("CapAmb", self.cap_amb),
        ];
        if let Some((name, set)) = sets.into_iter().find(|(_, set)| *set != 0) {
            return Err(format!("{name} {set:016x}, not 0"));
        }
        if !self.no_new_privs {
            return Err("NoNewPrivs 0, not 1".to_owned());
        }
        Ok(Dropped {
            uid: user.uid,
            gid: user.gid,
            cap_eff: self.cap_eff,
            cap_prm: self.cap_prm,
        })
    }
}

// ANCHOR: tests
#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    /// The lines of a real /proc/thread-self/status after the drop (others cut).
    const DROPPED: &str = "\
Name:\tstep-01-socket
Umask:\t0022
State:\tR (running)
Uid:\t65534\t65534\t65534\t65534
Gid:\t65534\t65534\t65534\t65534
FDSize:\t64
Groups:\t
NStgid:\t1234
Threads:\t1
CapInh:\t0000000000000000
CapPrm:\t0000000000000000
CapEff:\t0000000000000000
CapBnd:\t000001ffffffffff
CapAmb:\t0000000000000000
NoNewPrivs:\t1
Seccomp:\t0
";

    const NOBODY: SudoUser = SudoUser {
        uid: 65534,
        gid: 65534,
    };

    fn sudo(
        uid: Option<&str>,
        gid: Option<&str>,
    ) -> Result<Option<SudoUser>, String> {
        parse_sudo_user(uid.map(OsStr::new), gid.map(OsStr::new))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn status_lines_are_parsed() {
        let status = Credentials::parse(DROPPED).unwrap();
        assert_eq!(status.uids, [65534; 4]);
        assert_eq!(status.gids, [65534; 4]);
        assert_eq!(status.groups, Vec::<u32>::new());
        assert_eq!(status.cap_eff, 0);
        assert_eq!(status.threads, 1);
        assert!(status.no_new_privs);
        assert_eq!(
            status.check_dropped(NOBODY).unwrap().to_string(),
            "privileges: dropped to uid 65534 gid 65534 (from sudo); \
             CapEff 0000000000000000 CapPrm 0000000000000000"
        );
    }

    #[test]
    fn root_status_is_not_a_drop() {
        let root = DROPPED
            .replace("65534", "0")
            .replace("Groups:\t", "Groups:\t0 1")
            .replace("CapPrm:\t0000000000000000", "CapPrm:\t000001ffffffffff")
            .replace("CapEff:\t0000000000000000", "CapEff:\t000001ffffffffff");
        let status = Credentials::parse(&root).unwrap();
        assert_eq!((status.uids, status.groups.clone()), ([0; 4], vec![0, 1]));
        assert_eq!(status.cap_eff, 0x1ff_ffff_ffff);
        let why = status.check_dropped(NOBODY).unwrap_err();
        assert_eq!(why, "Uid [0, 0, 0, 0], not 65534 four times");
    }

    #[test]
    fn each_leftover_is_named() {
        let leftover = |from: &str, to: &str| {
            let text = DROPPED.replace(from, to);
            Credentials::parse(&text)
                .unwrap()
                .check_dropped(NOBODY)
                .unwrap_err()
        };
        // The saved uid alone would let the thread become root again.
        assert_eq!(
            leftover("Uid:\t65534\t65534\t65534", "Uid:\t65534\t65534\t0"),
            "Uid [65534, 65534, 0, 65534], not 65534 four times"
        );
        assert_eq!(
            leftover("Gid:\t65534", "Gid:\t0"),
            "Gid [0, 65534, 65534, 65534], not 65534 four times"
        );
        assert_eq!(leftover("Groups:\t", "Groups:\t0"), "Groups [0], not none");
        assert_eq!(
            leftover("CapEff:\t0000000000000000", "CapEff:\t0000000000002000"),
            "CapEff 0000000000002000, not 0"
        );
        assert_eq!(
            leftover("CapAmb:\t0000000000000000", "CapAmb:\t0000000000002000"),
            "CapAmb 0000000000002000, not 0"
        );
        assert_eq!(
            leftover("NoNewPrivs:\t1", "NoNewPrivs:\t0"),
            "NoNewPrivs 0, not 1"
        );
    }

    #[test]
    fn a_malformed_status_names_its_line() {
        let parse = |text: &str| Credentials::parse(text).unwrap_err();
        assert_eq!(
            parse(&DROPPED.replace("CapEff", "CapXyz")),
            "no CapEff line"
        );
        assert_eq!(
            parse(&DROPPED.replace("Uid:\t65534\t", "Uid:\t")),
            "Uid \"65534\\t65534\\t65534\" is not four ids"
        );
        assert_eq!(
            parse(&DROPPED.replace("CapPrm:\t0000", "CapPrm:\tzz00")),
            "CapPrm \"zz00000000000000\" is not a hex mask"
        );
        assert_eq!(parse(""), "no Groups line");
    }

    #[test]
    fn sudo_variables_are_parsed() {
        assert_eq!(
            sudo(Some("1000"), Some("1001")),
            Ok(Some(SudoUser {
                uid: 1000,
                gid: 1001
            }))
        );
        // Not started by sudo, or by root through sudo: nobody to become.
        assert_eq!(sudo(None, None), Ok(None));
        assert_eq!(sudo(None, Some("1000")), Ok(None));
        assert_eq!(sudo(Some("0"), Some("0")), Ok(None));
    }

    #[test]
    fn a_malformed_sudo_variable_is_named() {
        let error = sudo(Some("abc"), Some("1000")).unwrap_err();
        assert!(
            error.starts_with("environment: SUDO_UID=\"abc\" is not an id"),
            "{error}"
        );
        for bad in ["", "-1", "+5", " 7", "1e3", "4294967296"] {
            assert!(sudo(Some(bad), Some("1000")).is_err(), "SUDO_UID={bad:?}");
        }
        // -1 as a u32 means "leave it unchanged" to setresuid.
        assert!(sudo(Some("4294967295"), Some("1000")).is_err());
        let error = sudo(Some("1000"), Some("x")).unwrap_err();
        assert!(error.starts_with("environment: SUDO_GID=\"x\""), "{error}");
        let error = sudo(Some("1000"), None).unwrap_err();
        assert!(error.contains("SUDO_GID is not"), "{error}");
        let error = sudo(Some("1000"), Some("0")).unwrap_err();
        assert!(error.contains("SUDO_GID=0"), "{error}");
    }

    #[test]
    fn id_maps_are_read() {
        // The initial namespace maps every id to itself.
        let initial = "         0          0 4294967295\n";
        assert_eq!(map_id(initial, 0), Some(0));
        assert_eq!(map_id(initial, 65534), Some(65534));
        // The private namespace of netns.rs: uid 0 is uid 1000 outside, and
        // no other uid exists.
        let private = "         0       1000          1\n";
        assert_eq!(map_id(private, 0), Some(1000));
        assert_eq!(map_id(private, 1000), None);
        // Several ranges.
        let ranges = "0 0 1\n1000 100000 65536\n";
        assert_eq!(map_id(ranges, 1000), Some(100000));
        assert_eq!(map_id(ranges, 66535), Some(165535));
        assert_eq!(map_id(ranges, 66536), None);
        assert_eq!(map_id(ranges, 1), None);
        assert_eq!(map_id("", 0), None);
    }
}
// ANCHOR_END: tests
