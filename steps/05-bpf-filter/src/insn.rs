//! Classic BPF instructions as plain data.
//!
//! Classic BPF ("cBPF", the Berkeley Packet Filter of 1992 that tcpdump still
//! compiles its filters to) is a tiny machine with two 32-bit registers, the
//! accumulator `A` and the index `X`, that runs once per packet over the
//! packet's bytes. Each instruction is 8 bytes, the kernel's
//! `struct sock_filter`:
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-------------------------------+---------------+---------------+
//! |  code: class | size | mode    |      jt       |      jf       |  0
//! +-------------------------------+---------------+---------------+
//! |                          k: a constant                        |  4
//! +---------------------------------------------------------------+
//! ```
//!
//! `code` is the opcode, OR-ed together from a class (load, jump, return,
//! ...) and its modifiers; `k` is the constant it works with (an offset, a
//! value to compare with, a mask); `jt` and `jf` say how many instructions a
//! conditional jump skips when its test is true or false. Jumps only go
//! forward, so every program ends.
//!
//! This module names the few opcodes the workbook uses and gives each a
//! constructor; [`crate::program::Assembler`] computes the jump offsets.

use std::fmt;

// ANCHOR: insn
/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`
/// (`libc::sock_filter`): 16-bit opcode, two 8-bit jump offsets, a 32-bit
/// constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Insn {
    /// The opcode: class, size and mode OR-ed together (see [`code`]).
    pub code: u16,
    /// Instructions to skip when a jump's test is true.
    pub jt: u8,
    /// Instructions to skip when a jump's test is false.
    pub jf: u8,
    /// The constant: an offset, a value, a mask, a length.
    pub k: u32,
}
// ANCHOR_END: insn

// ANCHOR: code
/// The opcodes the workbook uses, composed from `linux/bpf_common.h`'s parts
/// exactly as C code composes them. (`as u16` is lossless: every part fits in
/// 8 bits.)
pub mod code {
    use libc::{
        BPF_ABS, BPF_ALU, BPF_AND, BPF_B, BPF_H, BPF_IND, BPF_JEQ, BPF_JMP,
        BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_MSH, BPF_RET, BPF_W,
    };

    /// `ldb [k]`: A = the byte at offset k.
    pub const LDB_ABS: u16 = (BPF_LD | BPF_B | BPF_ABS) as u16;
    /// `ldh [k]`: A = the 16-bit big-endian value at offset k.
    pub const LDH_ABS: u16 = (BPF_LD | BPF_H | BPF_ABS) as u16;
    /// `ld [k]`: A = the 32-bit big-endian value at offset k.
    pub const LD_ABS: u16 = (BPF_LD | BPF_W | BPF_ABS) as u16;
    /// `ldxb 4*([k]&0xf)`: X = 4 times the low nibble of the byte at k. Made
    /// for the IPv4 header's first byte: X becomes the header's length.
    pub const LDXB_MSH: u16 = (BPF_LDX | BPF_B | BPF_MSH) as u16;
    /// `ldh [x + k]`: A = the 16-bit value at offset X + k.
    pub const LDH_IND: u16 = (BPF_LD | BPF_H | BPF_IND) as u16;
    /// `ldb [x + k]`: A = the byte at offset X + k.
    pub const LDB_IND: u16 = (BPF_LD | BPF_B | BPF_IND) as u16;
    /// `and #k`: A = A & k.
    pub const AND_K: u16 = (BPF_ALU | BPF_AND | BPF_K) as u16;
    /// `jeq #k`: skip jt instructions if A == k, else jf.
    pub const JEQ_K: u16 = (BPF_JMP | BPF_JEQ | BPF_K) as u16;
    /// `jset #k`: skip jt instructions if A & k != 0, else jf.
    pub const JSET_K: u16 = (BPF_JMP | BPF_JSET | BPF_K) as u16;
    /// `ret #k`: stop; keep the first k bytes of the packet, none if k is 0.
    pub const RET_K: u16 = (BPF_RET | BPF_K) as u16;

    /// Every opcode above: the ones [`crate::run`] executes and
    /// [`crate::check`] accepts.
    pub const ALL: [u16; 10] = [
        LDB_ABS, LDH_ABS, LD_ABS, LDXB_MSH, LDH_IND, LDB_IND, AND_K, JEQ_K, JSET_K,
        RET_K,
    ];
}
// ANCHOR_END: code

// ANCHOR: constructors
impl Insn {
    /// An instruction that is no jump.
    const fn op(code: u16, k: u32) -> Insn {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// `ldb [offset]`: load one byte.
    pub const fn ldb(offset: u32) -> Insn {
        Insn::op(code::LDB_ABS, offset)
    }

    /// `ldh [offset]`: load two bytes, big-endian (network order).
    pub const fn ldh(offset: u32) -> Insn {
        Insn::op(code::LDH_ABS, offset)
    }

    /// `ld [offset]`: load four bytes, big-endian.
    pub const fn ld(offset: u32) -> Insn {
        Insn::op(code::LD_ABS, offset)
    }

    /// `ldxb 4*([offset]&0xf)`: X = the IPv4 header length, from its IHL.
    pub const fn ldxb_msh(offset: u32) -> Insn {
        Insn::op(code::LDXB_MSH, offset)
    }

    /// `ldh [x + offset]`: load two bytes at X + offset.
    pub const fn ldh_x(offset: u32) -> Insn {
        Insn::op(code::LDH_IND, offset)
    }

    /// `ldb [x + offset]`: load one byte at X + offset.
    pub const fn ldb_x(offset: u32) -> Insn {
        Insn::op(code::LDB_IND, offset)
    }

    /// `and #mask`: keep only the bits of `mask` in A.
    pub const fn and(mask: u32) -> Insn {
        Insn::op(code::AND_K, mask)
    }

    /// `jeq #value`: skip `jt` instructions if A == value, else `jf`.
    pub const fn jeq(value: u32, jt: u8, jf: u8) -> Insn {
        Insn {
            code: code::JEQ_K,
            jt,
            jf,
            k: value,
        }
    }

    /// `jset #mask`: skip `jt` instructions if A & mask != 0, else `jf`.
    pub const fn jset(mask: u32, jt: u8, jf: u8) -> Insn {
        Insn {
            code: code::JSET_K,
            jt,
            jf,
            k: mask,
        }
    }

    /// `ret #len`: the verdict. 0 drops the packet; any other value queues
    /// the packet for the socket, cut to at most `len` bytes.
    pub const fn ret(len: u32) -> Insn {
        Insn::op(code::RET_K, len)
    }
}
// ANCHOR_END: constructors

impl Insn {
    /// Whether this is a conditional jump (its `jt` and `jf` mean something).
    pub fn is_jump(&self) -> bool {
        matches!(self.code, code::JEQ_K | code::JSET_K)
    }

    /// Whether this ends the program.
    pub fn is_return(&self) -> bool {
        self.code == code::RET_K
    }

    /// The mnemonic and operand as `tcpdump -d` prints them: `("ldh", "[x +
    /// 2]")`, `("jeq", "#0x6")`. Unknown opcodes show as `("?", "code 0x..")`.
    pub fn mnemonic(&self) -> (&'static str, String) {
        let k = self.k;
        match self.code {
            code::LDB_ABS => ("ldb", format!("[{k}]")),
            code::LDH_ABS => ("ldh", format!("[{k}]")),
            code::LD_ABS => ("ld", format!("[{k}]")),
            code::LDXB_MSH => ("ldxb", format!("4*([{k}]&0xf)")),
            code::LDH_IND => ("ldh", format!("[x + {k}]")),
            code::LDB_IND => ("ldb", format!("[x + {k}]")),
            code::AND_K => ("and", format!("#0x{k:x}")),
            code::JEQ_K => ("jeq", format!("#0x{k:x}")),
            code::JSET_K => ("jset", format!("#0x{k:x}")),
            code::RET_K => ("ret", format!("#{k}")),
            other => ("?", format!("code 0x{other:02x}")),
        }
    }
}

impl fmt::Display for Insn {
    /// `jeq #0x6 jt +0 jf +14`: the jump offsets as stored, relative to the
    /// next instruction ([`crate::annotate()`] prints absolute targets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, operand) = self.mnemonic();
        write!(f, "{op} {operand}")?;
        if self.is_jump() {
            write!(f, " jt +{} jf +{}", self.jt, self.jf)?;
        }
        Ok(())
    }
}

impl From<Insn> for libc::sock_filter {
    fn from(insn: Insn) -> libc::sock_filter {
        libc::sock_filter {
            code: insn.code,
            jt: insn.jt,
            jf: insn.jf,
            k: insn.k,
        }
    }
}

impl From<libc::sock_filter> for Insn {
    fn from(raw: libc::sock_filter) -> Insn {
        Insn {
            code: raw.code,
            jt: raw.jt,
            jf: raw.jf,
            k: raw.k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_are_the_numbers_tcpdump_dd_prints() {
        // `tcpdump -dd` prints each instruction as { code, jt, jf, k }; these
        // are the codes it gives for the same instructions.
        assert_eq!(code::LDB_ABS, 0x30);
        assert_eq!(code::LDH_ABS, 0x28);
        assert_eq!(code::LD_ABS, 0x20);
        assert_eq!(code::LDXB_MSH, 0xb1);
        assert_eq!(code::LDH_IND, 0x48);
        assert_eq!(code::LDB_IND, 0x50);
        assert_eq!(code::AND_K, 0x54);
        assert_eq!(code::JEQ_K, 0x15);
        assert_eq!(code::JSET_K, 0x45);
        assert_eq!(code::RET_K, 0x06);
    }

    #[test]
    fn an_insn_has_the_kernels_layout() {
        assert_eq!(
            std::mem::size_of::<Insn>(),
            std::mem::size_of::<libc::sock_filter>()
        );
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        let raw = libc::sock_filter::from(Insn::jeq(6, 1, 2));
        assert_eq!((raw.code, raw.jt, raw.jf, raw.k), (0x15, 1, 2, 6));
        assert_eq!(Insn::from(raw), Insn::jeq(6, 1, 2));
    }

    #[test]
    fn mnemonics_read_like_tcpdump_d() {
        let shown: Vec<String> = [
            Insn::ldb(9),
            Insn::ldh(6),
            Insn::ld(12),
            Insn::ldxb_msh(0),
            Insn::ldh_x(2),
            Insn::ldb_x(13),
            Insn::and(0xf0),
            Insn::jeq(6, 0, 14),
            Insn::jset(4, 1, 0),
            Insn::ret(65535),
            Insn {
                code: 0x07,
                jt: 0,
                jf: 0,
                k: 0,
            },
        ]
        .iter()
        .map(Insn::to_string)
        .collect();
        assert_eq!(
            shown,
            [
                "ldb [9]",
                "ldh [6]",
                "ld [12]",
                "ldxb 4*([0]&0xf)",
                "ldh [x + 2]",
                "ldb [x + 13]",
                "and #0xf0",
                "jeq #0x6 jt +0 jf +14",
                "jset #0x4 jt +1 jf +0",
                "ret #65535",
                "? code 0x07",
            ]
        );
    }
}
