//! A classic BPF interpreter for the opcodes of [`crate::insn::code`]: the
//! kernel's decision, computed in user space, so that tests can ask what a
//! program does with any bytes without privileges.
//!
//! It follows the kernel's rules: loads are big-endian; a load that reaches
//! past the end of the packet ends the program with 0 (the packet is
//! dropped); an instruction the kernel would have refused to attach (see
//! [`crate::check`]) also gives 0.

// ANCHOR: machine
use crate::insn::{Insn, code};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A `ret` at this index decided.
    Returned(usize),
    /// The load at this index reached past the packet's end: 0, as in the
    /// kernel.
    OutOfBounds(usize),
    /// The program is not one [`crate::check`] accepts: an unknown opcode
    /// or a jump outside at this index, or it ran off its end (the index is
    /// then the program's length).
    Invalid(usize),
}

/// One run of a program over one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The verdict: 0 drops the packet, n > 0 keeps its first n bytes.
    pub verdict: u32,
    /// The index of every instruction executed, in order.
    pub path: Vec<usize>,
    /// Why it stopped.
    pub stop: Stop,
}

/// Runs `program` over `packet` (for a raw IPv4 socket: from the IPv4 header
/// on) and returns the verdict: 0 = drop, n > 0 = keep n bytes.
pub fn run(program: &[Insn], packet: &[u8]) -> u32 {
    trace(program, packet).verdict
}

/// [`run`], recording the path through the program.
pub fn trace(program: &[Insn], packet: &[u8]) -> Trace {
    // The two registers; both start at 0, as in the kernel.
    let (mut a, mut x) = (0u32, 0u32);
    let mut path = Vec::new();
    let mut pc = 0;
    let end = |stop: Stop, verdict: u32, path: Vec<usize>| Trace {
        verdict,
        path,
        stop,
    };
    while let Some(insn) = program.get(pc) {
        path.push(pc);
        let k = insn.k;
        match insn.code {
            code::LDB_ABS | code::LDH_ABS | code::LD_ABS => {
                match load(packet, Some(k), size_of_load(insn.code)) {
                    Some(value) => a = value,
                    None => return end(Stop::OutOfBounds(pc), 0, path),
                }
            }
            // Indexed: at X + k, X usually the IPv4 header's length.
            code::LDH_IND | code::LDB_IND => {
                match load(packet, x.checked_add(k), size_of_load(insn.code)) {
                    Some(value) => a = value,
                    None => return end(Stop::OutOfBounds(pc), 0, path),
                }
            }
            code::LDXB_MSH => match load(packet, Some(k), 1) {
                // The low nibble (IHL, in 32-bit words) times 4: bytes.
                Some(byte) => x = (byte & 0xf) << 2,
                None => return end(Stop::OutOfBounds(pc), 0, path),
            },
            code::AND_K => a &= k,
            code::JEQ_K | code::JSET_K => {
                let taken = if insn.code == code::JEQ_K {
                    a == k
                } else {
                    a & k != 0
                };
                let skip = if taken { insn.jt } else { insn.jf };
                pc += usize::from(skip);
                if pc + 1 >= program.len() {
                    return end(Stop::Invalid(path[path.len() - 1]), 0, path);
                }
            }
            code::RET_K => return end(Stop::Returned(pc), k, path),
            _ => return end(Stop::Invalid(pc), 0, path),
        }
        pc += 1;
    }
    end(Stop::Invalid(program.len()), 0, path)
}

fn size_of_load(code: u16) -> usize {
    match code {
        code::LD_ABS => 4,
        code::LDH_ABS | code::LDH_IND => 2,
        _ => 1,
    }
}

/// The big-endian value of `size` bytes at `offset`, if they are all there
/// (an offset that overflowed is `None`). The kernel reads offsets of 2^31
/// and beyond as its special "ancillary" areas; this crate uses none, so for
/// it they are simply past the end.
fn load(packet: &[u8], offset: Option<u32>, size: usize) -> Option<u32> {
    let start = usize::try_from(offset?).ok()?;
    let bytes = packet.get(start..start.checked_add(size)?)?;
    Some(bytes.iter().fold(0, |value, &b| value << 8 | u32::from(b)))
}
// ANCHOR_END: machine

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_are_big_endian() {
        let packet = [0x45, 0x00, 0xc3, 0x50, 0x7f, 0x00, 0x00, 0x01];
        let prog = |load: Insn, value: u32| {
            [load, Insn::jeq(value, 0, 1), Insn::ret(1), Insn::ret(0)]
        };
        assert_eq!(run(&prog(Insn::ldb(0), 0x45), &packet), 1);
        assert_eq!(run(&prog(Insn::ldh(2), 50000), &packet), 1);
        assert_eq!(run(&prog(Insn::ld(4), 0x7f00_0001), &packet), 1);
        assert_eq!(run(&prog(Insn::ld(4), 0x0100_007f), &packet), 0);
    }

    #[test]
    fn msh_turns_ihl_into_bytes_and_ind_loads_add_x() {
        // IHL 6: 24 bytes of IPv4 header; the "port" sits at 24.
        let mut packet = vec![0u8; 28];
        packet[0] = 0x46;
        packet[24..26].copy_from_slice(&50001u16.to_be_bytes());
        packet[26] = 0x04;
        let program = [
            Insn::ldxb_msh(0),
            Insn::ldh_x(0),
            Insn::jeq(50001, 0, 3),
            Insn::ldb_x(2),
            Insn::jset(0x04, 0, 1),
            Insn::ret(7),
            Insn::ret(0),
        ];
        let trace = trace(&program, &packet);
        assert_eq!(trace.verdict, 7);
        assert_eq!(trace.path, [0, 1, 2, 3, 4, 5]);
        assert_eq!(trace.stop, Stop::Returned(5));
    }

    #[test]
    fn a_load_past_the_end_rejects() {
        let program = [Insn::ldh(19), Insn::ret(65535)];
        assert_eq!(run(&program, &[0u8; 21]), 65535);
        let cut = trace(&program, &[0u8; 20]);
        assert_eq!(cut.verdict, 0);
        assert_eq!(cut.stop, Stop::OutOfBounds(0));
        // X + k past the end, and an X + k that overflows 32 bits.
        let ind = [Insn::ldxb_msh(0), Insn::ldb_x(u32::MAX), Insn::ret(1)];
        assert_eq!(trace(&ind, &[0x4f]).stop, Stop::OutOfBounds(1));
        assert_eq!(run(&[Insn::ld(u32::MAX), Insn::ret(1)], &[0; 8]), 0);
    }

    #[test]
    fn and_keeps_the_masked_bits() {
        let program = [
            Insn::ldb(0),
            Insn::and(0xf0),
            Insn::jeq(0x40, 0, 1),
            Insn::ret(1),
            Insn::ret(0),
        ];
        assert_eq!(run(&program, &[0x45]), 1);
        assert_eq!(run(&program, &[0x4f]), 1);
        assert_eq!(run(&program, &[0x65]), 0);
    }

    #[test]
    fn what_the_kernel_would_refuse_gives_zero() {
        let unknown = Insn {
            code: 0x07,
            jt: 0,
            jf: 0,
            k: 0,
        };
        assert_eq!(trace(&[unknown, Insn::ret(1)], &[]).stop, Stop::Invalid(0));
        let outside = [Insn::ldb(0), Insn::jeq(0, 5, 5), Insn::ret(1)];
        let run = trace(&outside, &[0]);
        assert_eq!((run.verdict, run.stop), (0, Stop::Invalid(1)));
        let no_ret = [Insn::ldb(0)];
        assert_eq!(trace(&no_ret, &[0]).stop, Stop::Invalid(1));
        assert_eq!(trace(&[], &[0]).stop, Stop::Invalid(0));
    }
}
