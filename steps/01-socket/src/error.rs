//! What can be wrong with bytes that came from the network.

use std::fmt;

/// Why a received buffer is not a well-formed IPv4 + TCP packet. Each variant
/// says what the value must be and what it was.
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
        }
    }
}

impl std::error::Error for ParseError {}
