//! Counting what the demo's sockets read: how often each side woke up and how
//! many segments it read, per round trip; and for a socket without the filter,
//! what each segment it read was.

use std::fmt;
use std::net::SocketAddrV4;

use step_01_socket::parse_received;
use step_02_bind_connect::{Verdict, classify};

// ANCHOR: tally
/// What a socket read, sorted by step 2's [`classify`]: the segments a filter
/// for `me` and `peer` would let through are exactly the `from-peer` ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Counts in the order of [`Verdict::ALL`].
    counts: [u64; 4],
    /// Reads that were no IPv4 + TCP packet.
    malformed: u64,
}

impl Tally {
    /// Sorts one read of the endpoint `me` talking to `peer`.
    pub fn add(&mut self, bytes: &[u8], me: SocketAddrV4, peer: SocketAddrV4) {
        match parse_received(bytes) {
            Ok(packet) => {
                let verdict = classify(&packet, me, peer);
                self.counts[Tally::index(verdict)] += 1;
            }
            Err(_) => self.malformed += 1,
        }
    }

    /// How many reads were `verdict`.
    pub fn get(&self, verdict: Verdict) -> u64 {
        self.counts[Tally::index(verdict)]
    }

    /// How many reads in all.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.malformed
    }

    fn index(verdict: Verdict) -> usize {
        Verdict::ALL
            .iter()
            .position(|&v| v == verdict)
            .unwrap_or_default()
    }
}

impl fmt::Display for Tally {
    /// `from-peer 5, kernel-rst 5, own-copy 0, foreign 0`, then
    /// `, malformed 1` if there were any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Verdict::ALL
            .iter()
            .map(|&verdict| format!("{verdict} {}", self.get(verdict)))
            .collect();
        f.write_str(&parts.join(", "))?;
        if self.malformed > 0 {
            write!(f, ", malformed {}", self.malformed)?;
        }
        Ok(())
    }
}
// ANCHOR_END: tally

// ANCHOR: wakes
/// How often one side's socket woke the program up (an `epoll_wait` that
/// returned it ready), and how many segments it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wakes {
    /// `epoll_wait` returns that reported the socket readable.
    pub wakes: u64,
    /// Successful reads from it.
    pub reads: u64,
}

impl Wakes {
    /// `woke 5 times, read 5 segments: 1.00 wake-ups and 1.00 reads per
    /// round trip`.
    pub fn report(&self, round_trips: u64) -> String {
        let counts =
            format!("woke {} times, read {} segments", self.wakes, self.reads);
        if round_trips == 0 {
            return format!("{counts}: no round trip completed");
        }
        let per = |n: u64| n as f64 / round_trips as f64;
        format!(
            "{counts}: {:.2} wake-ups and {:.2} reads per round trip",
            per(self.wakes),
            per(self.reads)
        )
    }
}
// ANCHOR_END: wakes

#[cfg(test)]
mod tests {
    use super::*;
    use step_01_socket::{SeqNumber, TcpFlags, TcpRepr};
    use step_02_bind_connect::{CLIENT, SERVER};
    use testkit::with_ipv4_header;

    fn read(src: SocketAddrV4, dst: SocketAddrV4, flags: TcpFlags) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: src.port(),
            dst_port: dst.port(),
            seq: SeqNumber(1),
            ack_number: flags.contains(TcpFlags::ACK).then_some(SeqNumber(1)),
            flags,
            window: 0,
            payload: b"",
        };
        let segment = tcp.to_bytes(*src.ip(), *dst.ip());
        with_ipv4_header(*src.ip(), *dst.ip(), 1, &segment)
    }

    #[test]
    fn a_tally_sorts_by_verdict() {
        let mut tally = Tally::default();
        tally.add(&read(CLIENT, SERVER, TcpFlags::ACK), SERVER, CLIENT);
        tally.add(&read(CLIENT, SERVER, TcpFlags::RST), SERVER, CLIENT);
        tally.add(&read(CLIENT, SERVER, TcpFlags::RST), SERVER, CLIENT);
        tally.add(&[0x45, 0], SERVER, CLIENT);
        assert_eq!(tally.get(Verdict::FromPeer), 1);
        assert_eq!(tally.get(Verdict::KernelReset), 2);
        assert_eq!(tally.total(), 4);
        assert_eq!(
            tally.to_string(),
            "from-peer 1, kernel-rst 2, own-copy 0, foreign 0, malformed 1"
        );
    }

    #[test]
    fn wakes_are_reported_per_round_trip() {
        let wakes = Wakes {
            wakes: 5,
            reads: 10,
        };
        assert_eq!(
            wakes.report(5),
            "woke 5 times, read 10 segments: 1.00 wake-ups and 2.00 reads per round trip"
        );
        assert_eq!(
            Wakes::default().report(0),
            "woke 0 times, read 0 segments: no round trip completed"
        );
    }
}
