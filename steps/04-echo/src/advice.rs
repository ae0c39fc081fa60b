//! What a failed system call most likely means here, and what to do about it.
//!
//! [`SysError`] already names the call and the errno, and lists the remedies for
//! EPERM from `socket()`. These are the other failures a learner meets when the
//! server or the client runs in a namespace of their own making.

use nix::errno::Errno;
use step_01_socket::SysError;

// ANCHOR: advice
/// A hint for `error`, if there is one worth giving.
pub fn advice(error: &SysError) -> Option<&'static str> {
    let call = error.call.as_str();
    match error.errno {
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
        let error = SysError::new("connect(127.0.0.1:50001)", Errno::ENETUNREACH);
        assert!(advice(&error).unwrap().contains("ip link set lo up"));
        let error = SysError::new("bind(127.0.0.1:50000)", Errno::EADDRNOTAVAIL);
        assert!(advice(&error).unwrap().contains("lo up"));
    }

    #[test]
    fn a_refused_write_points_at_the_firewall() {
        let error = SysError::new("write(32 bytes)", Errno::EPERM);
        assert!(advice(&error).unwrap().contains("OUTPUT"));
    }

    #[test]
    fn socket_eperm_is_left_to_sys_error() {
        // SysError's own text lists the remedies for a missing CAP_NET_RAW.
        let error =
            SysError::new("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)", Errno::EPERM);
        assert_eq!(advice(&error), None);
        assert!(error.to_string().contains("CAP_NET_RAW"));
    }
}
