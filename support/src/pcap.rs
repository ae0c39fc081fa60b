//! Writing what a raw socket reads as a pcap file, for Wireshark and tshark.
//!
//! Wireshark cannot look over a raw socket's shoulder: it captures for itself
//! or it opens a file. So a raw-socket program that wants its packets seen in
//! Wireshark writes them to a file in the classic pcap format (libpcap's, what
//! `tcpdump -w` writes): one global header, then one record per packet.
//!
//! Every read from `socket(AF_INET, SOCK_RAW, IPPROTO_TCP)` starts with the IPv4
//! header, and there is no Ethernet header on `lo`'s raw reads, so the file
//! declares link type 101, `LINKTYPE_RAW`: "each packet starts with its IP
//! header". The bytes go into the file exactly as they were read.
//!
//! The writer puts every header field in little-endian byte order, the magic
//! number too: a reader finds `d4 c3 b2 a1` at offset 0, knows from it that the
//! file is little-endian, and reads every other field that way. (A writer may
//! pick either order; it only has to use the same one throughout.)
//!
//! [`arrival_time`] asks the kernel when a packet arrived, which is when it
//! crossed `lo`: the time a record should carry.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;

use crate::Error;

// ANCHOR: constants
/// Identifies a classic pcap file with microsecond timestamps; its byte order
/// in the file tells the reader the byte order of every other field.
pub const MAGIC: u32 = 0xa1b2_c3d4;
/// The format's version, 2.4, unchanged since 1998.
pub const VERSION: (u16, u16) = (2, 4);
/// The most bytes of one packet a record may hold: the largest IPv4 packet.
pub const SNAPLEN: u32 = 65535;
/// The link type: every packet starts with its IPv4 (or IPv6) header, no
/// Ethernet header in front.
pub const LINKTYPE_RAW: u32 = 101;
/// The global header's length.
pub const HEADER_LEN: usize = 24;
/// A record header's length (the packet's bytes follow it).
pub const RECORD_HEADER_LEN: usize = 16;
// ANCHOR_END: constants

// ANCHOR: global_header
/// The 24 bytes that open every file, little-endian.
pub fn global_header() -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    header[4..6].copy_from_slice(&VERSION.0.to_le_bytes());
    header[6..8].copy_from_slice(&VERSION.1.to_le_bytes());
    // 8..12 thiszone: 0, the timestamps are UTC.
    // 12..16 sigfigs: 0, as every writer puts it.
    header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    header[20..24].copy_from_slice(&LINKTYPE_RAW.to_le_bytes());
    header
}
// ANCHOR_END: global_header

// ANCHOR: record_header
/// The 16 bytes in front of one packet of `len` bytes that arrived at `time`.
///
/// Fails if `time` is before 1970 or after 2106 (the seconds field holds 32
/// bits), or if the packet is longer than [`SNAPLEN`].
pub fn record_header(
    len: usize,
    time: SystemTime,
) -> io::Result<[u8; RECORD_HEADER_LEN]> {
    let since_1970 = time.duration_since(UNIX_EPOCH).map_err(|_| {
        invalid(format!(
            "the time {time:?} is before 1970: pcap cannot store it"
        ))
    })?;
    let seconds = u32::try_from(since_1970.as_secs()).map_err(|_| {
        invalid(format!(
            "the time {time:?} is after 2106: pcap cannot store it"
        ))
    })?;
    let len = u32::try_from(len)
        .ok()
        .filter(|&len| len <= SNAPLEN)
        .ok_or_else(|| {
            invalid(format!(
                "a {len}-byte packet is longer than the snapshot length {SNAPLEN}"
            ))
        })?;
    let mut header = [0u8; RECORD_HEADER_LEN];
    header[0..4].copy_from_slice(&seconds.to_le_bytes());
    header[4..8].copy_from_slice(&since_1970.subsec_micros().to_le_bytes());
    // Bytes stored, then bytes the packet had: the same, nothing is cut.
    header[8..12].copy_from_slice(&len.to_le_bytes());
    header[12..16].copy_from_slice(&len.to_le_bytes());
    Ok(header)
}
// ANCHOR_END: record_header

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A pcap file that could not be created or written, named.
#[derive(Debug)]
pub struct PcapError {
    /// What was being done: `create`, `write` or `flush`.
    pub action: &'static str,
    /// The file's path, or what stands for it.
    pub name: String,
    /// Why it failed.
    pub source: io::Error,
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}: {}", self.action, self.name, self.source)
    }
}

impl std::error::Error for PcapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

// ANCHOR: writer
/// Writes packets as a classic pcap file with link type [`LINKTYPE_RAW`].
///
/// The global header is written at once; each [`write`](PcapWriter::write)
/// adds a record. [`finish`](PcapWriter::finish) flushes what is buffered.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    /// The path, for error messages.
    name: String,
    count: usize,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (or truncates) the file at `path` and writes the global header.
    /// Errors name the path.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, PcapError> {
        let name = path.as_ref().display().to_string();
        let file = File::create(path).map_err(|source| PcapError {
            action: "create",
            name: name.clone(),
            source,
        })?;
        PcapWriter::named(BufWriter::new(file), name)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out`.
    pub fn new(out: W) -> Result<Self, PcapError> {
        PcapWriter::named(out, "the pcap output".to_owned())
    }

    fn named(out: W, name: String) -> Result<Self, PcapError> {
        let mut writer = PcapWriter {
            out,
            name,
            count: 0,
        };
        writer
            .out
            .write_all(&global_header())
            .map_err(|source| writer.error("write", source))?;
        Ok(writer)
    }

    /// Adds one packet (IPv4 header first) that arrived at `time`.
    pub fn write(
        &mut self,
        packet: &[u8],
        time: SystemTime,
    ) -> Result<(), PcapError> {
        let header =
            record_header(packet.len(), time).map_err(|e| self.error("write", e))?;
        self.out
            .write_all(&header)
            .and_then(|()| self.out.write_all(packet))
            .map_err(|e| self.error("write", e))?;
        self.count += 1;
        Ok(())
    }

    // ANCHOR: arrival_order
    /// Adds packets read from several sockets, each with the time it arrived,
    /// in the order they arrived: the order they crossed `lo`, whichever
    /// socket read them first. Equal times keep the order given.
    pub fn write_in_arrival_order(
        &mut self,
        mut packets: Vec<(SystemTime, Vec<u8>)>,
    ) -> Result<(), PcapError> {
        // A stable sort: equal times keep their order.
        packets.sort_by_key(|(arrived, _)| *arrived);
        for (arrived, packet) in &packets {
            self.write(packet, *arrived)?;
        }
        Ok(())
    }
    // ANCHOR_END: arrival_order

    /// How many packets were written.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The file's path, as given to [`create`](PcapWriter::create).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Flushes what is buffered, and gives the output back.
    pub fn finish(mut self) -> Result<W, PcapError> {
        self.out.flush().map_err(|e| self.error("flush", e))?;
        Ok(self.out)
    }

    fn error(&self, action: &'static str, source: io::Error) -> PcapError {
        PcapError {
            action,
            name: self.name.clone(),
            source,
        }
    }
}
// ANCHOR_END: writer

// ANCHOR: arrival
/// `SIOCGSTAMPNS` from `<linux/sockios.h>`: "when did the last packet I read
/// arrive?", as a `struct timespec` (the libc crate does not define it).
const SIOCGSTAMPNS: libc::Ioctl = 0x8907;

/// Asks the kernel to note when each packet for `socket` arrives, and waits
/// until it does. Call it when the socket is opened, before the packets come.
///
/// The first `SIOCGSTAMPNS` on a socket says it wants stamps (and finds none
/// yet: ENOENT). The kernel stamps arriving packets only while some socket
/// wants them, and switches that on in the background, microseconds to
/// milliseconds later; a packet that arrives before is not stamped, and
/// `SIOCGSTAMPNS` then reports the time it was *read*. So this also waits until
/// a probe (a UDP datagram to itself over `lo`, which no TCP socket sees) comes
/// back stamped: for a second at most, after which reads may carry read times.
pub fn enable_arrival_times(socket: &impl AsRawFd) -> Result<(), Error> {
    match arrival_time(socket) {
        Ok(_) => {}
        Err(e) if e.errno() == Some(Errno::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let probe = Probe::new()?;
    for _ in 0..1000 {
        if probe.comes_back_stamped()? {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// When the packet last read from `socket` arrived: the moment it crossed `lo`,
/// not the moment the program got around to reading it.
pub fn arrival_time(socket: &impl AsRawFd) -> Result<SystemTime, Error> {
    let mut stamp = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // nix has no call for SIOCGSTAMPNS (the ioctl functions its macros
    // generate are unsafe as well): libc's ioctl.
    // SAFETY: SIOCGSTAMPNS writes one struct timespec to the pointer, which
    // points to a live, writable timespec; the fd is open while `socket` lives.
    let ret = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            SIOCGSTAMPNS,
            &mut stamp as *mut libc::timespec,
        )
    };
    Errno::result(ret).map_err(|e| Error::sys("ioctl(SIOCGSTAMPNS)", e))?;
    let seconds = u64::try_from(stamp.tv_sec);
    let nanos = u32::try_from(stamp.tv_nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000);
    match (seconds, nanos) {
        (Ok(seconds), Some(nanos)) => Ok(UNIX_EPOCH + Duration::new(seconds, nanos)),
        _ => Err(Error::invalid(
            "ioctl(SIOCGSTAMPNS)",
            format!(
                "the stamp {} s {} ns is no time after 1970",
                stamp.tv_sec, stamp.tv_nsec
            ),
        )),
    }
}
// ANCHOR_END: arrival

// ANCHOR: probe
/// A UDP socket on 127.0.0.1 that sends datagrams to itself, to see whether
/// the kernel stamps arriving packets yet.
struct Probe {
    socket: UdpSocket,
}

impl Probe {
    fn new() -> Result<Probe, Error> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("bind(127.0.0.1, UDP probe)", e))?;
        let me = socket
            .local_addr()
            .map_err(|e| Error::io("getsockname(UDP probe)", e))?;
        socket
            .connect(me)
            .map_err(|e| Error::io("connect(UDP probe)", e))?;
        // On lo the datagram is back at once; never wait for it forever.
        socket
            .set_read_timeout(Some(Duration::from_secs(1)))
            .map_err(|e| Error::io("setsockopt(SO_RCVTIMEO, UDP probe)", e))?;
        let probe = Probe { socket };
        match arrival_time(&probe.socket) {
            Ok(_) => Ok(probe),
            Err(e) if e.errno() == Some(Errno::ENOENT) => Ok(probe),
            Err(e) => Err(e),
        }
    }

    /// Sends one datagram to itself and reads it. On `lo` it has arrived when
    /// `send` returns; a stamp from before that is a real one, a later one is
    /// the time of the read.
    fn comes_back_stamped(&self) -> Result<bool, Error> {
        self.socket
            .send(b"stamp?")
            .map_err(|e| Error::io("send(UDP probe)", e))?;
        let sent = SystemTime::now();
        self.socket
            .recv(&mut [0u8; 8])
            .map_err(|e| Error::io("recv(UDP probe)", e))?;
        Ok(arrival_time(&self.socket)? <= sent)
    }
}
// ANCHOR_END: probe

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// 2023-11-14 22:13:20.123456789 UTC.
    fn time() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
    }

    /// Four bytes stand for a packet: the writer stores them as they are,
    /// without looking into them.
    const PACKET: [u8; 4] = [0x45, 0x00, 0x00, 0x04];

    // ANCHOR: header_bytes
    static GLOBAL_HEADER: [u8; 24] = [
        0xd4, 0xc3, 0xb2, 0xa1, // magic 0xa1b2c3d4, little-endian
        0x02, 0x00, // version major 2
        0x04, 0x00, // version minor 4
        0x00, 0x00, 0x00, 0x00, // thiszone 0: UTC
        0x00, 0x00, 0x00, 0x00, // sigfigs 0
        0xff, 0xff, 0x00, 0x00, // snaplen 65535
        0x65, 0x00, 0x00, 0x00, // network 101: LINKTYPE_RAW
    ];

    static RECORD_HEADER: [u8; 16] = [
        0x00, 0xf1, 0x53, 0x65, // ts_sec 1700000000 = 0x6553f100
        0x40, 0xe2, 0x01, 0x00, // ts_usec 123456 = 0x0001e240 (ns cut off)
        0x04, 0x00, 0x00, 0x00, // incl_len 4: bytes stored
        0x04, 0x00, 0x00, 0x00, // orig_len 4: bytes the packet had
    ];
    // ANCHOR_END: header_bytes

    #[test]
    fn global_header_bytes() {
        assert_eq!(global_header(), GLOBAL_HEADER);
    }

    #[test]
    fn record_header_bytes() {
        assert_eq!(record_header(PACKET.len(), time()).unwrap(), RECORD_HEADER);
    }

    #[test]
    fn a_file_is_the_header_then_record_and_packet_each() {
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        assert_eq!(writer.count(), 0);
        writer.write(&PACKET, time()).unwrap();
        writer.write(&PACKET, time()).unwrap();
        assert_eq!(writer.count(), 2);
        let bytes = writer.finish().unwrap();

        let mut expected = GLOBAL_HEADER.to_vec();
        for _ in 0..2 {
            expected.extend_from_slice(&RECORD_HEADER);
            expected.extend_from_slice(&PACKET);
        }
        assert_eq!(bytes, expected);
    }

    #[test]
    fn packets_of_several_sockets_are_written_in_the_order_they_arrived() {
        let at = |ms| time() + Duration::from_millis(ms);
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        // As a program reads two sockets: the RST (read first, from one
        // socket) answers the segment the other socket reads next; the last
        // two arrived at the same moment.
        let read = vec![
            (at(2), vec![2]),
            (at(1), vec![1]),
            (at(3), vec![3]),
            (at(3), vec![4]),
        ];
        writer.write_in_arrival_order(read).unwrap();
        assert_eq!(writer.count(), 4);
        let bytes = writer.finish().unwrap();
        let first_bytes: Vec<u8> = bytes[HEADER_LEN..]
            .chunks(RECORD_HEADER_LEN + 1)
            .map(|record| record[RECORD_HEADER_LEN])
            .collect();
        assert_eq!(first_bytes, [1, 2, 3, 4]);
    }

    #[test]
    fn an_independent_reader_agrees() {
        use pcap_file::DataLink;
        use pcap_file::pcap::PcapReader;

        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        writer.write(&PACKET, time()).unwrap();
        let bytes = writer.finish().unwrap();

        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let header = reader.header();
        assert_eq!(header.datalink, DataLink::RAW);
        assert_eq!((header.version_major, header.version_minor), (2, 4));
        assert_eq!(header.snaplen, 65535);
        let packet = reader.next_packet().unwrap().unwrap();
        assert_eq!(packet.timestamp, Duration::new(1_700_000_000, 123_456_000));
        assert_eq!(packet.orig_len, 4);
        assert_eq!(&packet.data[..], &PACKET);
        assert!(reader.next_packet().is_none());
    }

    #[test]
    fn times_pcap_cannot_hold_are_refused() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        let error = record_header(4, before_1970).unwrap_err();
        assert!(error.to_string().contains("before 1970"), "{error}");
        let after_2106 = UNIX_EPOCH + Duration::from_secs(1 << 32);
        let error = record_header(4, after_2106).unwrap_err();
        assert!(error.to_string().contains("after 2106"), "{error}");
    }

    #[test]
    fn packets_longer_than_the_snapshot_length_are_refused() {
        assert!(record_header(65535, time()).is_ok());
        let error = record_header(65536, time()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a 65536-byte packet is longer than the snapshot length 65535"
        );
        // Nothing half-written: the failed record is not counted.
        let mut writer = PcapWriter::new(Vec::new()).unwrap();
        assert!(writer.write(&vec![0; 65536], time()).is_err());
        assert_eq!(writer.count(), 0);
        assert_eq!(writer.finish().unwrap(), GLOBAL_HEADER);
    }

    #[test]
    fn create_errors_name_the_path() {
        let error = PcapWriter::create("/nonexistent-dir/echo.pcap").unwrap_err();
        assert_eq!(error.action, "create");
        let text = error.to_string();
        assert!(
            text.starts_with("cannot create /nonexistent-dir/echo.pcap: "),
            "{text}"
        );
    }
}
