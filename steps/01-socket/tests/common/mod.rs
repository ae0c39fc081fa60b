//! The fixed cast of step 1's tests: two packets, byte by byte, what they mean,
//! and a small deterministic random generator.
//!
//! Each test file uses a part of this module.
#![allow(dead_code)]

use std::net::Ipv4Addr;

use step_01_socket::ipv4::Ipv4Repr;
use step_01_socket::{SeqNumber, TcpFlags, TcpRepr};

/// The server of the workbook's demos.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The client of the workbook's demos.
pub const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Length of an IPv4 header without options.
pub const IP_HEADER_LEN: usize = 20;

/// The client's request as a raw socket reads it: an IPv4 header (identification
/// fixed to 1, DF, TTL 64) in front of the TCP segment our programs write,
/// 127.0.0.2:50001 -> 127.0.0.1:50000 PSH|ACK seq 1 ack 1 win 65535
/// "Hello server". Both checksums are correct.
#[rustfmt::skip]
pub static DATA_PACKET: [u8; 52] = [
    // IPv4 header
    /* version 4, IHL 5 */     0x45,
    /* DSCP/ECN */             0x00,
    /* total length 52 */      0x00, 0x34,
    /* identification 1 */     0x00, 0x01,
    /* flags DF, offset 0 */   0x40, 0x00,
    /* TTL 64 */               0x40,
    /* protocol 6 (TCP) */     0x06,
    /* header checksum */      0x3c, 0xc0,
    /* source 127.0.0.2 */     0x7f, 0x00, 0x00, 0x02,
    /* destination 127.0.0.1 */0x7f, 0x00, 0x00, 0x01,
    // TCP header
    /* src port 50001 */       0xc3, 0x51,
    /* dst port 50000 */       0xc3, 0x50,
    /* seq 1 */                0x00, 0x00, 0x00, 0x01,
    /* ack 1 */                0x00, 0x00, 0x00, 0x01,
    /* data offset 5 */        0x50,
    /* flags PSH|ACK */        0x18,
    /* window 65535 */         0xff, 0xff,
    /* checksum */             0xbb, 0xd8,
    /* urgent pointer */       0x00, 0x00,
    // payload
    /* "Hello server" */       0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
                               0x73, 0x65, 0x72, 0x76, 0x65, 0x72,
];

/// The TCP checksum stored in [`DATA_PACKET`].
pub const DATA_CHECKSUM: u16 = 0xbbd8;
/// The IPv4 header checksum stored in [`DATA_PACKET`].
pub const DATA_IP_CHECKSUM: u16 = 0x3cc0;

/// The TCP segment of [`DATA_PACKET`]: what our programs write to the socket.
pub fn data_segment() -> &'static [u8] {
    &DATA_PACKET[IP_HEADER_LEN..]
}

/// What [`DATA_PACKET`]'s TCP segment means.
pub fn data_repr() -> TcpRepr<'static> {
    TcpRepr {
        src_port: 50001,
        dst_port: 50000,
        seq: SeqNumber(1),
        ack_number: Some(SeqNumber(1)),
        flags: TcpFlags::PSH | TcpFlags::ACK,
        window: 65535,
        payload: b"Hello server",
    }
}

/// What [`DATA_PACKET`]'s IPv4 header means.
pub fn data_ip_repr() -> Ipv4Repr {
    Ipv4Repr {
        src_addr: CLIENT,
        dst_addr: SERVER,
        protocol: 6,
        ident: 1,
        ttl: 64,
        payload_len: 32,
    }
}

/// A SYN the kernel sent on `lo` (a `connect()` to 127.0.0.1:50000, nothing
/// listening), as a raw socket read it: 60 bytes, 20 of them TCP options, and
/// only a partial TCP checksum (the folded pseudo-header sum, 0xfe30) because
/// `lo` offloads the rest and never computes it.
#[rustfmt::skip]
pub static KERNEL_SYN: [u8; 60] = [
    // IPv4 header
    /* version 4, IHL 5 */     0x45,
    /* DSCP/ECN */             0x00,
    /* total length 60 */      0x00, 0x3c,
    /* identification */       0xfd, 0xf0,
    /* flags DF, offset 0 */   0x40, 0x00,
    /* TTL 64 */               0x40,
    /* protocol 6 (TCP) */     0x06,
    /* header checksum */      0x3e, 0xc9,
    /* source 127.0.0.1 */     0x7f, 0x00, 0x00, 0x01,
    /* destination 127.0.0.1 */0x7f, 0x00, 0x00, 0x01,
    // TCP header
    /* src port 43752 */       0xaa, 0xe8,
    /* dst port 50000 */       0xc3, 0x50,
    /* seq 4123525571 */       0xf5, 0xc8, 0x01, 0xc3,
    /* ack 0 */                0x00, 0x00, 0x00, 0x00,
    /* data offset 10 */       0xa0,
    /* flags SYN */            0x02,
    /* window 65495 */         0xff, 0xd7,
    /* checksum (partial) */   0xfe, 0x30,
    /* urgent pointer */       0x00, 0x00,
    // TCP options
    /* MSS 65495 */            0x02, 0x04, 0xff, 0xd7,
    /* SACK permitted */       0x04, 0x02,
    /* timestamps */           0x08, 0x0a, 0x81, 0xba, 0xe4, 0x56,
                               0x00, 0x00, 0x00, 0x00,
    /* NOP */                  0x01,
    /* window scale 10 */      0x03, 0x03, 0x0a,
];

/// The partial checksum stored in [`KERNEL_SYN`].
pub const SYN_PARTIAL_CHECKSUM: u16 = 0xfe30;
/// The checksum a sender that computes it in full would store in
/// [`KERNEL_SYN`] (worked out by hand, and by etherparse in `oracle.rs`).
pub const SYN_FULL_CHECKSUM: u16 = 0x8428;
/// The IPv4 header checksum stored in [`KERNEL_SYN`].
pub const SYN_IP_CHECKSUM: u16 = 0x3ec9;

/// The TCP segment of [`KERNEL_SYN`].
pub fn syn_segment() -> &'static [u8] {
    &KERNEL_SYN[IP_HEADER_LEN..]
}

/// The 20 bytes of options of [`KERNEL_SYN`].
pub fn syn_options() -> &'static [u8] {
    &KERNEL_SYN[40..]
}

/// What [`KERNEL_SYN`]'s TCP segment means. [`TcpRepr`] does not represent
/// options: they are not here.
pub fn syn_repr() -> TcpRepr<'static> {
    TcpRepr {
        src_port: 43752,
        dst_port: 50000,
        seq: SeqNumber(4_123_525_571),
        ack_number: None,
        flags: TcpFlags::SYN,
        window: 65495,
        payload: b"",
    }
}

/// What [`KERNEL_SYN`]'s IPv4 header means.
pub fn syn_ip_repr() -> Ipv4Repr {
    Ipv4Repr {
        src_addr: SERVER,
        dst_addr: SERVER,
        protocol: 6,
        ident: 0xfdf0,
        ttl: 64,
        payload_len: 40,
    }
}

/// A small deterministic generator (SplitMix64), so the "random" cases are the
/// same on every run and a failure can be replayed.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    /// A random 16-bit value.
    pub fn u16(&mut self) -> u16 {
        self.next_u64() as u16
    }

    /// A random 32-bit value.
    pub fn u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}
