//! `--pcap FILE`: every packet the echo's raw sockets read, written to a file
//! that Wireshark and tshark open (see `support::pcap` for the format).
//!
//! Each packet of the exchange is read exactly once by one of the program's
//! own sockets, so recording every read, before any filtering, records the
//! exchange once, and nothing but it:
//! - the demo: the server's socket reads what comes from 127.0.0.2, the
//!   client's what comes from 127.0.0.1: both directions, the kernel's RSTs
//!   included;
//! - a side alone whose peer has another address: its socket reads only what
//!   comes from the peer, so a mirror socket reads what goes to it
//!   ([`Capture::open_mirror`]);
//! - a side alone on one address (`server 127.0.0.1`): its socket reads both
//!   directions, its own segments included.
//!
//! The loop reads its sockets in the order epoll reports them, which is not
//! the order the packets crossed `lo`: when the server writes a reply, the
//! reply and the kernel's RST to it are usually delivered before `send`
//! returns, and the server reads that RST before the client reads the reply.
//! Usually, not always: the delivery may be left to the `ksoftirqd` thread
//! and happen a little later. So every packet carries the time the kernel
//! stamped on its arrival, is held back for [`HOLD`], and is written in the
//! order of those stamps.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, SystemTime};

use std::net::SocketAddrV4;

use step_01_socket::RawSocket;
use step_03_epoll::open_nonblocking;
use support::Error;
use support::pcap::{PcapError, PcapWriter, arrival_time, enable_arrival_times};

/// What `--help` adds about recording.
pub const USAGE: &str = "\
recording, with any mode:
  --pcap FILE     write every packet the raw sockets read, before any
                  filtering (this side's own segments as lo carried them,
                  the peer's, the kernel's RSTs), to FILE as pcap with link
                  type 101 (LINKTYPE_RAW: IPv4 header first), in the order
                  they arrived; open it with Wireshark or `tshark -r FILE`.
                  FILE is created before anything is sent (exit status 1 if
                  it cannot be). In server and client modes with two
                  different addresses, one more raw socket (a mirror) reads
                  what this side sends to its peer, for the file only.
  for example:
  cargo run -p step-04-echo -- --pcap /tmp/echo.pcap
  tshark -r /tmp/echo.pcap -o tcp.check_checksum:TRUE";

/// How long a packet is held back before it is written: any packet that
/// arrived earlier has been read by then, unless the program stalled.
pub const HOLD: Duration = Duration::from_secs(1);

// ANCHOR: reorder
/// Packets read from several sockets, written in the order they arrived.
#[derive(Debug)]
pub struct Reorder<W: Write> {
    file: PcapWriter<W>,
    /// Read but not yet written, sorted by arrival.
    held: Vec<(SystemTime, Vec<u8>)>,
}

impl<W: Write> Reorder<W> {
    pub fn new(file: PcapWriter<W>) -> Reorder<W> {
        Reorder {
            file,
            held: Vec::new(),
        }
    }

    /// Holds `packet`, which arrived at `arrived`, in its place among the
    /// others; then writes those that arrived before `now - HOLD`.
    pub fn add(
        &mut self,
        packet: &[u8],
        arrived: SystemTime,
        now: SystemTime,
    ) -> Result<(), PcapError> {
        // After the packets with the same stamp: equal stamps keep read order.
        let place = self.held.partition_point(|(time, _)| *time <= arrived);
        self.held.insert(place, (arrived, packet.to_vec()));
        let settled = now.checked_sub(HOLD).unwrap_or(SystemTime::UNIX_EPOCH);
        let ready = self.held.partition_point(|(time, _)| *time < settled);
        self.write_first(ready)
    }

    /// Writes every packet still held, and gives the writer back (its
    /// `finish` flushes the file).
    pub fn finish(mut self) -> Result<PcapWriter<W>, PcapError> {
        self.write_first(self.held.len())?;
        Ok(self.file)
    }

    fn write_first(&mut self, n: usize) -> Result<(), PcapError> {
        for (arrived, packet) in self.held.drain(..n) {
            self.file.write(&packet, arrived)?;
        }
        Ok(())
    }
}
// ANCHOR_END: reorder

// ANCHOR: capture
/// The recording `--pcap` asked for, or none: every method then does nothing.
#[derive(Debug)]
pub struct Capture {
    recording: Option<Recording>,
    /// For a side alone, what reads its own segments: see [`Capture::open_mirror`].
    mirror: Option<RawSocket>,
}

#[derive(Debug)]
struct Recording {
    packets: Reorder<BufWriter<File>>,
    /// The first write that failed: nothing more is recorded after it.
    failed: Option<PcapError>,
}

impl Capture {
    /// No recording.
    pub fn off() -> Capture {
        Capture {
            recording: None,
            mirror: None,
        }
    }

    /// Creates the file (errors name it) and writes the pcap header.
    pub fn create(path: &std::path::Path) -> Result<Capture, PcapError> {
        let file = PcapWriter::create(path)?;
        Ok(Capture {
            recording: Some(Recording {
                packets: Reorder::new(file),
                failed: None,
            }),
            mirror: None,
        })
    }

    /// Whether packets are being recorded.
    pub fn is_on(&self) -> bool {
        self.recording.is_some()
    }

    /// Has the kernel stamp each packet `socket` receives with its arrival
    /// time. Call it right after opening the socket.
    pub fn watch(&self, socket: &RawSocket) -> Result<(), Error> {
        match self.recording {
            Some(_) => enable_arrival_times(socket),
            None => Ok(()),
        }
    }

    /// Records `packet`, just read from `socket`, with its arrival time.
    pub fn record(
        &mut self,
        socket: &RawSocket,
        packet: &[u8],
    ) -> Result<(), Error> {
        record(&mut self.recording, socket, packet)
    }

    // ANCHOR: mirror
    /// For a side alone, `me` talking to `peer`, when recording: its own
    /// socket reads only what comes from the peer, never what it sends. A
    /// mirror socket, bound to the peer's address and connected to ours,
    /// reads exactly what goes from us to the peer: our segments as `lo`
    /// carried them, IPv4 header and all, and the kernel's RSTs from our
    /// address. Its reads go to the file only. With one address on both ends
    /// there is no need for it: the side's own socket reads its own segments
    /// too.
    pub fn open_mirror(
        &mut self,
        me: SocketAddrV4,
        peer: SocketAddrV4,
    ) -> Result<(), Error> {
        if self.recording.is_none() || me.ip() == peer.ip() {
            return Ok(());
        }
        // The mirror image of the side's own socket: local and peer swapped.
        let socket = open_nonblocking(peer, me)?;
        self.watch(&socket)?;
        println!(
            "pcap: a mirror socket, bound to {}, connected to {}: reads what this \
             side sends, for the file",
            peer.ip(),
            me.ip()
        );
        self.mirror = Some(socket);
        Ok(())
    }
    // ANCHOR_END: mirror

    /// The mirror socket, if there is one, for the loop to watch.
    pub fn mirror(&self) -> Option<&RawSocket> {
        self.mirror.as_ref()
    }

    /// Reads one packet from the mirror socket into `buf` and records it;
    /// false when nothing (more) is queued.
    pub fn read_mirror(&mut self, buf: &mut [u8]) -> Result<bool, Error> {
        let Some(socket) = &self.mirror else {
            return Ok(false);
        };
        match socket.try_recv(buf) {
            Ok(Some(len)) => {
                record(&mut self.recording, socket, &buf[..len])?;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(error) => {
                eprintln!("mirror: {error} (reported; reading on)");
                Ok(false)
            }
        }
    }

    /// Writes what is held and closes the file: the summary line, or what went
    /// wrong. `None` when nothing was recorded.
    pub fn finish(self) -> Option<Result<String, PcapError>> {
        let recording = self.recording?;
        Some(finish_recording(recording))
    }
}

/// [`Capture::record`], into the recording if there is one.
fn record(
    recording: &mut Option<Recording>,
    socket: &RawSocket,
    packet: &[u8],
) -> Result<(), Error> {
    let Some(recording) = recording else {
        return Ok(());
    };
    if recording.failed.is_some() {
        return Ok(());
    }
    let arrived = arrival_time(socket)?;
    let added = recording.packets.add(packet, arrived, SystemTime::now());
    recording.failed = added.err();
    Ok(())
}

fn finish_recording(recording: Recording) -> Result<String, PcapError> {
    if let Some(error) = recording.failed {
        return Err(error);
    }
    let file = recording.packets.finish()?;
    let (count, name) = (file.count(), file.name().to_owned());
    file.finish()?;
    Ok(format!("pcap: {count} packets written to {name}"))
}
// ANCHOR_END: capture

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use support::pcap::{HEADER_LEN, RECORD_HEADER_LEN};

    /// `ms` milliseconds after 2023-11-14 22:13:20 UTC.
    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(1_700_000_000)
            + Duration::from_millis(ms)
    }

    /// The first byte of each packet in the file, in file order.
    fn written(file: PcapWriter<Vec<u8>>) -> Vec<u8> {
        let bytes = file.finish().unwrap();
        bytes[HEADER_LEN..]
            .chunks(RECORD_HEADER_LEN + 1)
            .map(|record| record[RECORD_HEADER_LEN])
            .collect()
    }

    #[test]
    fn packets_are_written_in_the_order_they_arrived() {
        let mut packets = Reorder::new(PcapWriter::new(Vec::new()).unwrap());
        // As the demo reads them: the request (server), the RST to the reply
        // (server), the RST to the request (client), the reply (client).
        let now = at(10);
        packets.add(&[1], at(1), now).unwrap();
        packets.add(&[4], at(4), now).unwrap();
        packets.add(&[2], at(2), now).unwrap();
        packets.add(&[3], at(3), now).unwrap();
        let file = packets.finish().unwrap();
        assert_eq!(file.count(), 4);
        assert_eq!(written(file), [1, 2, 3, 4]);
    }

    #[test]
    fn equal_stamps_keep_the_order_they_were_read_in() {
        let mut packets = Reorder::new(PcapWriter::new(Vec::new()).unwrap());
        for n in [7, 8, 9] {
            packets.add(&[n], at(1), at(1)).unwrap();
        }
        assert_eq!(written(packets.finish().unwrap()), [7, 8, 9]);
    }

    #[test]
    fn packets_older_than_the_hold_are_written_at_once() {
        let mut packets = Reorder::new(PcapWriter::new(Vec::new()).unwrap());
        packets.add(&[1], at(0), at(0)).unwrap();
        packets.add(&[2], at(500), at(500)).unwrap();
        assert_eq!(packets.file.count(), 0, "both are still held");
        // 1.2 s later: the first is settled, the second (held 0.7 s) is not.
        packets.add(&[3], at(1200), at(1200)).unwrap();
        assert_eq!(packets.file.count(), 1);
        assert_eq!(packets.held.len(), 2);
        assert_eq!(written(packets.finish().unwrap()), [1, 2, 3]);
    }
}
