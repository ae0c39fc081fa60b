//! What can be wrong with bytes that came from the network.

use std::fmt;

/// Why a received buffer is not a well-formed IPv4 + TCP packet. Each variant
/// says what the value must be and what it was.
///
/// The views' `check_len` return the length errors (the bytes do not hold
/// what the header says); the reprs' `parse` return the value errors (the
/// bytes are there, but mean something this code does not accept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than a header needs.
    Truncated {
        /// Which header was cut short.
        layer: &'static str,
        /// How many bytes it needs.
        required: usize,
        /// How many bytes there are.
        len: usize,
    },
    /// The version nibble is not 4.
    BadVersion(u8),
    /// IHL below 5 words: not even the fixed header fits.
    BadIhl(u8),
    /// Total length smaller than the header it contains.
    BadTotalLen {
        /// The total length field.
        total_len: u16,
        /// The header length from IHL.
        header_len: usize,
    },
    /// Total length claims more bytes than were received.
    TotalLenPastEnd {
        /// The total length field.
        total_len: u16,
        /// The bytes received.
        len: usize,
    },
    /// The IPv4 payload is not TCP.
    NotTcp(u8),
    /// Data offset below 5 words: not even the fixed TCP header fits.
    BadDataOffset(u8),
    /// Data offset reaches past the end of the segment.
    DataOffsetPastEnd {
        /// The header length from the data offset.
        header_len: usize,
        /// The bytes of the segment.
        len: usize,
    },
    /// A TCP segment longer than the 16-bit length of the pseudo-header can
    /// count, so longer than any IPv4 packet can carry.
    SegmentTooLong {
        /// The bytes of the segment.
        len: usize,
    },
    /// An IPv4 fragment: a piece of a larger packet, which is not reassembled.
    Fragment {
        /// The "more fragments" flag.
        more_fragments: bool,
        /// The fragment offset, in units of 8 bytes.
        offset: u16,
    },
    /// A TCP port of 0, which no connection can use.
    ZeroPort {
        /// Which one: `"source"` or `"destination"`.
        which: &'static str,
    },
    /// A checksum that does not verify (checked only when the caller asks).
    BadChecksum {
        /// Whose checksum: `"IPv4 header"` or `"TCP"`.
        layer: &'static str,
        /// The value stored.
        stored: u16,
        /// The value a correct sender stores.
        expected: u16,
    },
}

impl ParseError {
    /// A short, stable name for counting errors by reason.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::Truncated { .. } => "truncated",
            ParseError::BadVersion(_) => "bad-version",
            ParseError::BadIhl(_) => "bad-ihl",
            ParseError::BadTotalLen { .. } => "bad-total-length",
            ParseError::TotalLenPastEnd { .. } => "total-length-past-end",
            ParseError::NotTcp(_) => "not-tcp",
            ParseError::BadDataOffset(_) => "bad-data-offset",
            ParseError::DataOffsetPastEnd { .. } => "data-offset-past-end",
            ParseError::SegmentTooLong { .. } => "segment-too-long",
            ParseError::Fragment { .. } => "fragment",
            ParseError::ZeroPort { .. } => "zero-port",
            ParseError::BadChecksum { .. } => "bad-checksum",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Truncated {
                layer,
                required,
                len,
            } => write!(f, "{layer} needs {required} bytes, only {len} received"),
            ParseError::BadVersion(v) => write!(f, "IP version must be 4, got {v}"),
            ParseError::BadIhl(ihl) => {
                write!(f, "IHL must be at least 5 words (20 bytes), got {ihl}")
            }
            ParseError::BadTotalLen {
                total_len,
                header_len,
            } => write!(
                f,
                "total length {total_len} is smaller than the {header_len}-byte header"
            ),
            ParseError::TotalLenPastEnd { total_len, len } => {
                write!(
                    f,
                    "total length {total_len} is past the {len} bytes received"
                )
            }
            ParseError::NotTcp(p) => write!(f, "protocol must be 6 (TCP), got {p}"),
            ParseError::BadDataOffset(off) => write!(
                f,
                "TCP data offset must be at least 5 words (20 bytes), got {off}"
            ),
            ParseError::DataOffsetPastEnd { header_len, len } => write!(
                f,
                "TCP data offset says {header_len} header bytes, the segment has {len}"
            ),
            ParseError::SegmentTooLong { len } => {
                write!(f, "a TCP segment has at most 65535 bytes, got {len}")
            }
            ParseError::Fragment {
                more_fragments,
                offset,
            } => write!(
                f,
                "a fragment (MF {}, offset {offset}) must be reassembled first, \
                 and nothing here reassembles",
                u8::from(more_fragments)
            ),
            ParseError::ZeroPort { which } => {
                write!(f, "TCP {which} port must not be 0")
            }
            ParseError::BadChecksum {
                layer,
                stored,
                expected,
            } => write!(
                f,
                "{layer} checksum must be 0x{expected:04x}, got 0x{stored:04x}"
            ),
        }
    }
}

impl std::error::Error for ParseError {}
