//! What a failed system call most likely means here, and what to do about it.
//!
//! [`Error`] names the call and the errno, and lists the remedies for EPERM
//! from `socket()` ([`cap_net_raw_remedies`]). [`advice`] adds a hint for the
//! other failures a learner meets when a server or a client runs in a
//! namespace of their own making.

use nix::errno::Errno;

use crate::Error;

/// The running program's file name, for remedies the reader can paste.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .map(std::path::Path::new)
        .and_then(std::path::Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "<step>".to_owned())
}

/// What to do when `socket(AF_INET, SOCK_RAW, ...)` fails with EPERM: the
/// lines [`Error`] (and step 1's `SysError`) print after the failed call.
pub fn cap_net_raw_remedies() -> String {
    let program = program_name();
    format!(
        "Opening a raw socket needs CAP_NET_RAW. Remedies, any one of:\n\
         \x20 - run the binary as root: cargo build, then\n\
         \x20     sudo ./target/debug/{program}\n\
         \x20 - give the binary the capability (lost on every rebuild):\n\
         \x20     sudo setcap cap_net_raw+ep ./target/debug/{program}\n\
         \x20 - run it in a private user+network namespace, where you hold it:\n\
         \x20     unshare --user --map-root-user --net sh -c \\\n\
         \x20       'ip link set lo up; ./target/debug/{program} ...'"
    )
}

// ANCHOR: advice
/// A hint for `error`, if there is one worth giving.
pub fn advice(error: &Error) -> Option<&'static str> {
    match error {
        Error::Sys { call, errno } => advice_for_call(call, *errno),
        Error::Invalid { .. } | Error::Io { .. } => None,
    }
}

/// A hint for the call `call` (as it was made, with its arguments) that
/// failed with `errno`, if there is one worth giving.
pub fn advice_for_call(call: &str, errno: Errno) -> Option<&'static str> {
    match errno {
        // connect() looks up the route to the peer; write() too.
        Errno::ENETUNREACH => Some(
            "No route to the peer: lo is down. A new network namespace starts with \
             lo down (and without 127.0.0.1); bring it up with `ip link set lo up`.",
        ),
        Errno::EADDRNOTAVAIL if call.starts_with("bind(") => Some(
            "No interface here holds that address: is lo up (`ip link set lo up`)? \
             Every 127.x.y.z address belongs to lo once it is up.",
        ),
        Errno::EPERM | Errno::EACCES if call.starts_with("write(") => Some(
            "The kernel refused to send the segment: most often a firewall rule in \
             the OUTPUT chain (`nft list ruleset`, `iptables -S OUTPUT`).",
        ),
        _ => None,
    }
}
// ANCHOR_END: advice

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lo_down_is_named() {
        let error = Error::sys("connect(127.0.0.1:50001)", Errno::ENETUNREACH);
        assert!(advice(&error).unwrap().contains("ip link set lo up"));
        let error = Error::sys("bind(127.0.0.1:50000)", Errno::EADDRNOTAVAIL);
        assert!(advice(&error).unwrap().contains("lo up"));
    }

    #[test]
    fn a_refused_write_points_at_the_firewall() {
        let error = Error::sys("write(32 bytes)", Errno::EPERM);
        assert!(advice(&error).unwrap().contains("OUTPUT"));
    }

    #[test]
    fn socket_eperm_is_left_to_the_error_itself() {
        // The error's own text lists the remedies for a missing CAP_NET_RAW.
        let error =
            Error::sys("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", Errno::EPERM);
        assert_eq!(advice(&error), None);
        assert!(error.to_string().contains("CAP_NET_RAW"));
    }
}
