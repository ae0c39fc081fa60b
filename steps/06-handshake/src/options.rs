//! TCP options (RFC 9293, section 3.2): what a SYN says besides its flags.
//!
//! Options sit between byte 20 and the end of the header (the data offset).
//! Two kinds are a single byte: 0 ends the list (what follows is padding) and
//! 1 is a no-op used to align the next option. Every other option is a kind
//! byte, a length byte that counts the kind and length bytes too, then data:
//!
//! ```text
//!  kind len  data                                  sent by
//!  02   04   MSS (2 bytes)                         us and the kernel, in SYNs
//!  04   02   SACK permitted                        the kernel, in its SYN
//!  08   0a   timestamp value, echo (4 + 4 bytes)   the kernel, in its SYN
//!  01        NOP                                   the kernel, padding
//!  03   03   window scale shift (1 byte)           the kernel, in its SYN
//! ```
//!
//! We announce only the MSS. A peer uses window scaling, SACK and timestamps
//! only when both SYNs carry the option (RFC 7323, RFC 2018), so the kernel's
//! offers of them are read, and then simply not taken up.
//!
//! Options come from the network: a length byte can lie. [`parse`] never
//! panics; a malformed option is an [`OptionError`], and parsing goes on where
//! it safely can.

use std::fmt;

/// Option kinds, as IANA numbers them.
pub mod kind {
    /// End of the option list.
    pub const END: u8 = 0;
    /// No operation (padding).
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// Timestamps.
    pub const TIMESTAMPS: u8 = 8;
}

/// One option, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpOption {
    /// Kind 0: the list ends here.
    EndOfList,
    /// Kind 1: one byte of padding.
    Nop,
    /// Kind 2: the largest segment (payload bytes) the sender accepts.
    Mss(u16),
    /// Kind 3: the sender's windows are to be shifted left by this much.
    WindowScale(u8),
    /// Kind 4: the sender understands selective acknowledgments.
    SackPermitted,
    /// Kind 8: a timestamp and the echo of the peer's last one.
    Timestamps {
        /// The sender's clock.
        value: u32,
        /// The last value received from the peer (0 in a SYN).
        echo: u32,
    },
    /// Any other kind, with its data skipped.
    Unknown {
        /// The kind byte.
        kind: u8,
        /// How many bytes of data it had.
        data_len: usize,
    },
}

impl TcpOption {
    /// The bytes of this option as it is written into a header.
    pub fn to_bytes(&self) -> Vec<u8> {
        match *self {
            TcpOption::EndOfList => vec![kind::END],
            TcpOption::Nop => vec![kind::NOP],
            TcpOption::Mss(mss) => {
                let [hi, lo] = mss.to_be_bytes();
                vec![kind::MSS, 4, hi, lo]
            }
            TcpOption::WindowScale(shift) => vec![kind::WINDOW_SCALE, 3, shift],
            TcpOption::SackPermitted => vec![kind::SACK_PERMITTED, 2],
            TcpOption::Timestamps { value, echo } => {
                let mut bytes = vec![kind::TIMESTAMPS, 10];
                bytes.extend_from_slice(&value.to_be_bytes());
                bytes.extend_from_slice(&echo.to_be_bytes());
                bytes
            }
            TcpOption::Unknown { kind, data_len } => {
                let mut bytes = vec![kind, (data_len + 2) as u8];
                bytes.resize(data_len + 2, 0);
                bytes
            }
        }
    }
}

impl fmt::Display for TcpOption {
    /// tcpdump's words: `mss 1460`, `sackOK`, `TS`, `nop`, `wscale 7`, `eol`.
    /// The timestamps' values change with every connection, so they are left
    /// out of the line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpOption::EndOfList => f.write_str("eol"),
            TcpOption::Nop => f.write_str("nop"),
            TcpOption::Mss(mss) => write!(f, "mss {mss}"),
            TcpOption::WindowScale(shift) => write!(f, "wscale {shift}"),
            TcpOption::SackPermitted => f.write_str("sackOK"),
            TcpOption::Timestamps { .. } => f.write_str("TS"),
            TcpOption::Unknown { kind, data_len } => {
                write!(f, "option-{kind} ({data_len} bytes)")
            }
        }
    }
}

/// Why the option bytes could not all be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionError {
    /// An option that needs a length byte is the last byte of the list.
    NoLength {
        /// Its kind.
        kind: u8,
        /// Where it starts among the option bytes.
        at: usize,
    },
    /// A length byte below 2: it must count the kind and length bytes. A zero
    /// here would make a careless parser loop for ever.
    LengthBelowTwo {
        /// Its kind.
        kind: u8,
        /// The length byte.
        len: u8,
        /// Where it starts.
        at: usize,
    },
    /// A length that reaches past the end of the options.
    PastEnd {
        /// Its kind.
        kind: u8,
        /// The length byte.
        len: u8,
        /// Where it starts.
        at: usize,
        /// How many option bytes are left from there.
        left: usize,
    },
    /// A known option whose length is not the one its RFC gives.
    WrongLength {
        /// Its kind.
        kind: u8,
        /// The length byte.
        len: u8,
        /// The length it must have.
        expected: u8,
    },
}

impl OptionError {
    /// A short, stable name for counting: `option-past-end`, ...
    pub fn reason(&self) -> &'static str {
        match self {
            OptionError::NoLength { .. } => "option-without-length",
            OptionError::LengthBelowTwo { .. } => "option-length-below-2",
            OptionError::PastEnd { .. } => "option-past-end",
            OptionError::WrongLength { .. } => "option-wrong-length",
        }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            OptionError::NoLength { kind, at } => write!(
                f,
                "option kind {kind} at byte {at} is the last byte: its length is missing"
            ),
            OptionError::LengthBelowTwo { kind, len, at } => write!(
                f,
                "option kind {kind} at byte {at} has length {len}; it must be at least 2"
            ),
            OptionError::PastEnd {
                kind,
                len,
                at,
                left,
            } => write!(
                f,
                "option kind {kind} at byte {at} has length {len}; only {left} bytes are left"
            ),
            OptionError::WrongLength {
                kind,
                len,
                expected,
            } => write!(
                f,
                "option kind {kind} has length {len}; it must be {expected}"
            ),
        }
    }
}

impl std::error::Error for OptionError {}

/// What [`parse`] found: the options it could read, and what was wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// The options, in the order they came.
    pub options: Vec<TcpOption>,
    /// Each problem met. After a bad length nothing more can be trusted, so
    /// the rest of the list is skipped; a known option with the wrong length
    /// (but one that fits) is skipped alone.
    pub errors: Vec<OptionError>,
}

impl Parsed {
    /// The MSS the peer announced, if it did.
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|option| match option {
            TcpOption::Mss(mss) => Some(*mss),
            _ => None,
        })
    }
}

/// The length a known option must have, or `None` for kinds we do not know.
fn expected_len(kind: u8) -> Option<u8> {
    match kind {
        kind::MSS => Some(4),
        kind::WINDOW_SCALE => Some(3),
        kind::SACK_PERMITTED => Some(2),
        kind::TIMESTAMPS => Some(10),
        _ => None,
    }
}

// ANCHOR: parse
/// Reads the option bytes of a header (`TcpPacket::options`). Never panics:
/// every length is checked against the bytes that are there.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut at = 0;
    while let Some(&kind) = bytes.get(at) {
        match kind {
            kind::END => {
                parsed.options.push(TcpOption::EndOfList);
                break; // the rest is padding
            }
            kind::NOP => {
                parsed.options.push(TcpOption::Nop);
                at += 1;
                continue;
            }
            _ => {}
        }
        let left = bytes.len() - at;
        let Some(&len) = bytes.get(at + 1) else {
            parsed.errors.push(OptionError::NoLength { kind, at });
            break;
        };
        if len < 2 {
            parsed
                .errors
                .push(OptionError::LengthBelowTwo { kind, len, at });
            break;
        }
        if usize::from(len) > left {
            let error = OptionError::PastEnd {
                kind,
                len,
                at,
                left,
            };
            parsed.errors.push(error);
            break;
        }
        let data = &bytes[at + 2..at + usize::from(len)];
        match expected_len(kind) {
            Some(expected) if expected != len => {
                let error = OptionError::WrongLength {
                    kind,
                    len,
                    expected,
                };
                parsed.errors.push(error);
            }
            _ => parsed.options.push(decode(kind, data)),
        }
        at += usize::from(len);
    }
    parsed
}
// ANCHOR_END: parse

/// An option whose length has been checked.
fn decode(kind: u8, data: &[u8]) -> TcpOption {
    let u32_at = |i: usize| {
        u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]])
    };
    match kind {
        kind::MSS => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
        kind::WINDOW_SCALE => TcpOption::WindowScale(data[0]),
        kind::SACK_PERMITTED => TcpOption::SackPermitted,
        kind::TIMESTAMPS => TcpOption::Timestamps {
            value: u32_at(0),
            echo: u32_at(4),
        },
        _ => TcpOption::Unknown {
            kind,
            data_len: data.len(),
        },
    }
}

/// The bytes of `options`, padded with zero bytes (end of list) to a whole
/// number of 32-bit words, as the data offset counts them.
pub fn emit(options: &[TcpOption]) -> Vec<u8> {
    let mut bytes: Vec<u8> = options.iter().flat_map(TcpOption::to_bytes).collect();
    bytes.resize(bytes.len().next_multiple_of(4), kind::END);
    bytes
}

/// `mss 65495,sackOK,TS,nop,wscale 7`, as tcpdump lists options.
pub fn list(options: &[TcpOption]) -> String {
    options
        .iter()
        .map(TcpOption::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of the kernel's SYN on `lo` (Linux 6.x), as a raw socket
    /// reads them: MSS 65495, SACK permitted, timestamps, NOP, window scale 7.
    const KERNEL_SYN: [u8; 20] = [
        0x02, 0x04, 0xff, 0xd7, // MSS 65495
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x9a, 0x3b, 0x2c, 0x11, 0x00, 0x00, 0x00, 0x00, // TS
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    #[test]
    fn the_kernels_syn_options_are_all_read() {
        let parsed = parse(&KERNEL_SYN);
        assert_eq!(parsed.errors, []);
        assert_eq!(
            parsed.options,
            [
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    value: 0x9a3b_2c11,
                    echo: 0
                },
                TcpOption::Nop,
                TcpOption::WindowScale(7),
            ]
        );
        assert_eq!(parsed.mss(), Some(65495));
        assert_eq!(list(&parsed.options), "mss 65495,sackOK,TS,nop,wscale 7");
    }

    #[test]
    fn our_mss_option_is_four_bytes_and_needs_no_padding() {
        let bytes = emit(&[TcpOption::Mss(1460)]);
        assert_eq!(bytes, [0x02, 0x04, 0x05, 0xb4]);
        assert_eq!(parse(&bytes).options, [TcpOption::Mss(1460)]);
    }

    #[test]
    fn emitted_options_are_padded_to_whole_words_and_read_back() {
        let options = [
            TcpOption::Mss(65495),
            TcpOption::SackPermitted,
            TcpOption::Timestamps {
                value: 0x9a3b_2c11,
                echo: 0,
            },
            TcpOption::Nop,
            TcpOption::WindowScale(7),
        ];
        assert_eq!(emit(&options), KERNEL_SYN);
        let bytes = emit(&[TcpOption::Nop, TcpOption::WindowScale(7)]);
        assert_eq!(bytes, [0x01, 0x03, 0x03, 0x07]);
        let bytes = emit(&[TcpOption::WindowScale(2)]);
        assert_eq!(bytes, [0x03, 0x03, 0x02, 0x00], "one byte of padding");
        assert_eq!(
            parse(&bytes).options,
            [TcpOption::WindowScale(2), TcpOption::EndOfList]
        );
    }

    #[test]
    fn end_of_list_stops_and_the_padding_after_it_is_not_read() {
        let parsed = parse(&[0x00, 0x02, 0x04, 0x05]);
        assert_eq!(parsed.options, [TcpOption::EndOfList]);
        assert_eq!(parsed.mss(), None);
        assert_eq!(parsed.errors, []);
    }

    #[test]
    fn an_unknown_option_is_skipped_by_its_length() {
        // Kind 30 (multipath TCP) with 2 bytes of data, then the MSS.
        let parsed = parse(&[30, 4, 0xaa, 0xbb, 0x02, 0x04, 0x05, 0xb4]);
        assert_eq!(
            parsed.options,
            [
                TcpOption::Unknown {
                    kind: 30,
                    data_len: 2
                },
                TcpOption::Mss(1460)
            ]
        );
        assert_eq!(parsed.errors, []);
    }

    #[test]
    fn malformed_options_are_errors_never_panics() {
        let cases: [(&[u8], OptionError); 5] = [
            (&[0x02], OptionError::NoLength { kind: 2, at: 0 }),
            (
                &[0x01, 0x02, 0x00, 0x00],
                OptionError::LengthBelowTwo {
                    kind: 2,
                    len: 0,
                    at: 1,
                },
            ),
            (
                &[0x08, 0x01],
                OptionError::LengthBelowTwo {
                    kind: 8,
                    len: 1,
                    at: 0,
                },
            ),
            (
                &[0x02, 0x04, 0x05],
                OptionError::PastEnd {
                    kind: 2,
                    len: 4,
                    at: 0,
                    left: 3,
                },
            ),
            (
                &[0x02, 0x03, 0x05, 0x02, 0x04, 0x05, 0xb4, 0x00],
                OptionError::WrongLength {
                    kind: 2,
                    len: 3,
                    expected: 4,
                },
            ),
        ];
        for (bytes, error) in cases {
            let parsed = parse(bytes);
            assert_eq!(parsed.errors, [error], "{bytes:02x?}");
            assert!(!error.to_string().is_empty());
        }
        // A wrong length that fits is skipped alone: the MSS after it counts.
        let parsed = parse(cases[4].0);
        assert_eq!(parsed.mss(), Some(1460));
        assert_eq!(
            cases[3].1.to_string(),
            "option kind 2 at byte 0 has length 4; only 3 bytes are left"
        );
    }

    #[test]
    fn every_byte_string_up_to_three_bytes_parses_without_a_panic() {
        // 40 bytes is the most a header holds; short strings are where the
        // lengths go wrong. All 16.8 million three-byte strings would be slow
        // in a debug build: every first byte with a spread of the rest.
        for a in 0..=255u8 {
            parse(&[a]);
            for b in 0..=255u8 {
                parse(&[a, b]);
                for c in [0u8, 1, 2, 3, 4, 8, 10, 40, 255] {
                    let parsed = parse(&[a, b, c]);
                    assert!(parsed.options.len() + parsed.errors.len() <= 3);
                }
            }
        }
    }
}
