//! Packets as a raw socket reads them, built with step 1's wire code, and
//! bytes as text for a snapshot or an `assert_eq!`, so that a mismatch shows
//! as a line diff.

use std::net::{Ipv4Addr, SocketAddrV4};

use step_01_socket::checksum::{PROTO_TCP, ipv4_header_checksum};
use step_01_socket::ipv4::{Ipv4Packet, Ipv4Repr};
use step_01_socket::{
    ChecksumCheck, SeqNumber, TcpFlags, TcpRepr, annotate_segment, segment_summary,
};

/// The IPv4 packet a raw socket reads when `segment` (a TCP header and its
/// payload) goes from `src` to `dst`: the 20-byte header the kernel writes in
/// front (DF, TTL 64, protocol TCP, a correct checksum), then the segment. The
/// kernel picks the identification; a test fixes it as `ident`, so that what it
/// prints stays the same from run to run.
pub fn with_ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    segment: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: PROTO_TCP,
        ident,
        ttl: 64,
        payload_len: segment.len(),
    };
    let mut packet = vec![0u8; ip.header_len() + segment.len()];
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]));
    packet[ip.header_len()..].copy_from_slice(segment);
    packet
}

/// What a raw socket reads when a segment with these fields goes from `src` to
/// `dst`: the segment with a correct checksum behind [`with_ipv4_header`]'s
/// header (identification 1). A RST advertises window 0, as the kernel's do;
/// anything else our window, 65535.
pub fn segment_as_read(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let window = if flags.contains(TcpFlags::RST) {
        0
    } else {
        65535
    };
    let tcp = TcpRepr {
        src_port: src.port(),
        dst_port: dst.port(),
        seq: SeqNumber(seq),
        ack_number: flags.contains(TcpFlags::ACK).then_some(SeqNumber(ack)),
        flags,
        window,
        payload,
    };
    let segment = tcp.to_bytes(*src.ip(), *dst.ip());
    with_ipv4_header(*src.ip(), *dst.ip(), 1, &segment)
}

/// The summary line, then every field of `segment` sent from `src` to `dst`.
/// Bytes that are no TCP segment give a line that says so, not a panic: a
/// learner's wrong bytes then show in the snapshot's diff.
pub fn annotated(src: SocketAddrV4, dst: SocketAddrV4, segment: &[u8]) -> String {
    let Ok(line) = segment_summary(src, dst, segment, ChecksumCheck::Ignore) else {
        return format!("not a TCP segment: {segment:02x?}\n");
    };
    let fields = annotate_segment(*src.ip(), *dst.ip(), segment)
        .unwrap_or_else(|error| format!("not a TCP segment: {error}\n"));
    format!("{line}\n{fields}")
}

/// Hex of `bytes`, 8 per line, so that a failed comparison shows which bytes
/// differ.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An IPv4 packet carrying `segment` from `src` to `dst` whose header has
/// `options` (a multiple of 4 bytes) after its 20 fixed bytes: IHL 5 + words,
/// total length and header checksum correct, identification `ident`, DF, TTL
/// 64.
pub fn ipv4_with_options(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    options: &[u8],
    segment: &[u8],
) -> Vec<u8> {
    assert!(options.len() % 4 == 0 && options.len() <= 40, "{options:?}");
    let header_len = 20 + options.len();
    let total = u16::try_from(header_len + segment.len()).expect("fits");
    let mut packet = Vec::with_capacity(usize::from(total));
    packet.push(0x40 | (header_len / 4) as u8); // version 4, IHL
    packet.push(0); // DSCP, ECN
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&ident.to_be_bytes());
    packet.extend_from_slice(&0x4000u16.to_be_bytes()); // DF, offset 0
    packet.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum 0 for now
    packet.extend_from_slice(&src.octets());
    packet.extend_from_slice(&dst.octets());
    packet.extend_from_slice(options);
    let checksum = ipv4_header_checksum(&packet[..header_len]);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet.extend_from_slice(segment);
    packet
}

/// The records of a pcap file a program's `--pcap` wrote, read by the
/// pcap-file crate, not by the workbook's own code: (time since 1970, the
/// packet's bytes), in file order.
///
/// # Panics
/// When the file is missing, is not pcap, is not of link type 101 (raw IPv4,
/// as every `--pcap` writes it), or holds a record cut short.
pub fn read_pcap(path: &std::path::Path) -> Vec<(std::time::Duration, Vec<u8>)> {
    use pcap_file::{DataLink, pcap::PcapReader};
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = PcapReader::new(file).expect("a valid pcap header");
    assert_eq!(reader.header().datalink, DataLink::RAW, "LINKTYPE_RAW, 101");
    let mut records = Vec::new();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a valid pcap record");
        assert_eq!(
            packet.orig_len as usize,
            packet.data.len(),
            "nothing cut off"
        );
        records.push((packet.timestamp, packet.data.into_owned()));
    }
    records
}
