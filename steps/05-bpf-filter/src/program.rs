//! Building a program without counting jump offsets by hand, and checking it
//! before the kernel does (a little more strictly).
//!
//! A conditional jump stores how many instructions to *skip*: `jf 14` at
//! instruction 4 lands on instruction 4 + 1 + 14 = 19. Counted by hand, every
//! inserted instruction silently breaks the jumps across it. The
//! [`Assembler`] takes named [`Label`]s instead and computes the offsets when
//! the program is finished; [`check`] then proves that every jump lands
//! inside the program and that the program ends with a `ret`, as the kernel's
//! own checker demands (it refuses anything else with EINVAL). It is stricter
//! than the kernel: it also refuses opcodes this crate does not run.

use std::fmt;

use crate::insn::{Insn, code};

/// The most instructions the kernel accepts in one classic program
/// (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = libc::BPF_MAXINSNS as usize;

/// What is wrong with a program, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramError {
    /// No instruction at all.
    Empty,
    /// More than [`MAX_INSNS`] instructions.
    TooLong {
        /// How many there are.
        len: usize,
    },
    /// An opcode outside the set this crate knows (see [`code::ALL`]).
    UnknownOpcode {
        /// Its index.
        at: usize,
        /// The opcode.
        code: u16,
    },
    /// A jump whose target is past the last instruction.
    JumpOutside {
        /// The jump's index.
        at: usize,
        /// Where it would land.
        target: usize,
        /// How many instructions there are.
        len: usize,
    },
    /// The last instruction is no `ret`: the machine could run off the end.
    NoFinalReturn {
        /// The last instruction's index.
        at: usize,
    },
    /// A jump to a label that was never bound to a place.
    UnboundLabel {
        /// The jump's index.
        at: usize,
    },
    /// A label bound twice.
    LabelBoundTwice {
        /// The second place it was bound to.
        at: usize,
    },
    /// A jump to a label at or before itself: classic BPF jumps only forward.
    BackwardJump {
        /// The jump's index.
        at: usize,
        /// The label's place.
        target: usize,
    },
    /// A jump over more than 255 instructions: `jt` and `jf` are 8 bits.
    JumpTooFar {
        /// The jump's index.
        at: usize,
        /// The label's place.
        target: usize,
    },
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ProgramError::Empty => f.write_str("the program has no instruction"),
            ProgramError::TooLong { len } => write!(
                f,
                "the program has {len} instructions; the kernel takes at most {MAX_INSNS}"
            ),
            ProgramError::UnknownOpcode { at, code } => write!(
                f,
                "({at:03}): opcode 0x{code:02x} is none of the ones this crate runs"
            ),
            ProgramError::JumpOutside { at, target, len } => write!(
                f,
                "({at:03}): jumps to ({target:03}), past the last instruction ({:03})",
                len - 1
            ),
            ProgramError::NoFinalReturn { at } => write!(
                f,
                "({at:03}): the last instruction must be a ret, or the machine runs off the end"
            ),
            ProgramError::UnboundLabel { at } => {
                write!(f, "({at:03}): jumps to a label that was never bound")
            }
            ProgramError::LabelBoundTwice { at } => {
                write!(f, "({at:03}): a label is bound here a second time")
            }
            ProgramError::BackwardJump { at, target } => write!(
                f,
                "({at:03}): jumps back to ({target:03}); classic BPF jumps only forward"
            ),
            ProgramError::JumpTooFar { at, target } => write!(
                f,
                "({at:03}): jumps to ({target:03}), more than 255 instructions ahead"
            ),
        }
    }
}

impl std::error::Error for ProgramError {}

// ANCHOR: check
/// Checks a classic program before the kernel sees it, more strictly than the
/// kernel does. Besides the kernel's rules (at least one and at most
/// [`MAX_INSNS`] instructions, every jump's both targets inside the program,
/// a `ret` at the end), it refuses every opcode this crate does not run, such
/// as `tax` (0x07), which the kernel accepts. Jumps only go forward, so a
/// program that passes always ends, at a `ret`.
pub fn check(program: &[Insn]) -> Result<(), ProgramError> {
    let len = program.len();
    if len == 0 {
        return Err(ProgramError::Empty);
    }
    if len > MAX_INSNS {
        return Err(ProgramError::TooLong { len });
    }
    for (at, insn) in program.iter().enumerate() {
        if !code::ALL.contains(&insn.code) {
            return Err(ProgramError::UnknownOpcode {
                at,
                code: insn.code,
            });
        }
        if insn.is_jump() {
            for skip in [insn.jt, insn.jf] {
                let target = at + 1 + usize::from(skip);
                if target >= len {
                    return Err(ProgramError::JumpOutside { at, target, len });
                }
            }
        }
    }
    if !program[len - 1].is_return() {
        return Err(ProgramError::NoFinalReturn { at: len - 1 });
    }
    Ok(())
}
// ANCHOR_END: check

/// A place in a program that jumps can name before it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Where a conditional jump goes on one of its two branches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// On to the next instruction (an offset of 0).
    Next,
    /// To the instruction a label is bound to.
    To(Label),
}

/// Fall through to the next instruction: `asm.jeq(6, NEXT, reject)`.
pub const NEXT: Target = Target::Next;

impl From<Label> for Target {
    fn from(label: Label) -> Target {
        Target::To(label)
    }
}

/// An instruction, or a jump whose offsets wait for its labels.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Ready(Insn),
    Jump {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
}

// ANCHOR: assembler
/// Builds a program from instructions and labelled jumps.
///
/// ```
/// use step_05_bpf_filter::{Assembler, Insn, NEXT};
///
/// let mut asm = Assembler::new();
/// let reject = asm.label();
/// asm.push(Insn::ldb(9)); // A = the IPv4 protocol byte
/// asm.jeq(6, NEXT, reject); // TCP? on; otherwise to `reject`
/// asm.push(Insn::ret(65535)); // accept
/// asm.bind(reject);
/// asm.push(Insn::ret(0)); // reject
/// let program = asm.finish().expect("a valid program");
/// assert_eq!(program[1], Insn::jeq(6, 0, 1));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    slots: Vec<Slot>,
    /// Where each label is bound, once it is.
    labels: Vec<Option<usize>>,
    /// The first label bound a second time, if any.
    rebound: Option<usize>,
}

impl Assembler {
    /// An empty program.
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// A new label, to be bound to a place with [`Assembler::bind`].
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the next instruction pushed.
    pub fn bind(&mut self, label: Label) {
        let here = self.slots.len();
        match self.labels[label.0] {
            None => self.labels[label.0] = Some(here),
            Some(_) => {
                self.rebound.get_or_insert(here);
            }
        }
    }

    /// Appends an instruction as it is (a jump keeps the offsets it has).
    pub fn push(&mut self, insn: Insn) {
        self.slots.push(Slot::Ready(insn));
    }

    /// `jeq #value`: to `jt` if A == value, else to `jf`.
    pub fn jeq(&mut self, value: u32, jt: impl Into<Target>, jf: impl Into<Target>) {
        self.jump(code::JEQ_K, value, jt.into(), jf.into());
    }

    /// `jset #mask`: to `jt` if A & mask != 0, else to `jf`.
    pub fn jset(&mut self, mask: u32, jt: impl Into<Target>, jf: impl Into<Target>) {
        self.jump(code::JSET_K, mask, jt.into(), jf.into());
    }

    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.slots.push(Slot::Jump { code, k, jt, jf });
    }

    /// Resolves every label into a forward offset, then [`check`]s the
    /// whole program.
    pub fn finish(self) -> Result<Vec<Insn>, ProgramError> {
        if let Some(at) = self.rebound {
            return Err(ProgramError::LabelBoundTwice { at });
        }
        let mut program = Vec::with_capacity(self.slots.len());
        for (at, slot) in self.slots.iter().enumerate() {
            program.push(match *slot {
                Slot::Ready(insn) => insn,
                Slot::Jump { code, k, jt, jf } => Insn {
                    code,
                    jt: self.offset(at, jt)?,
                    jf: self.offset(at, jf)?,
                    k,
                },
            });
        }
        check(&program)?;
        Ok(program)
    }

    /// The `jt`/`jf` value that takes the jump at `at` to `target`: how many
    /// instructions it skips.
    fn offset(&self, at: usize, target: Target) -> Result<u8, ProgramError> {
        let Target::To(label) = target else {
            return Ok(0);
        };
        let Some(target) = self.labels[label.0] else {
            return Err(ProgramError::UnboundLabel { at });
        };
        if target <= at {
            return Err(ProgramError::BackwardJump { at, target });
        }
        u8::try_from(target - at - 1)
            .map_err(|_| ProgramError::JumpTooFar { at, target })
    }
}
// ANCHOR_END: assembler

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_only() -> Assembler {
        let mut asm = Assembler::new();
        let reject = asm.label();
        asm.push(Insn::ldb(9));
        asm.jeq(6, NEXT, reject);
        asm.push(Insn::ret(65535));
        asm.bind(reject);
        asm.push(Insn::ret(0));
        asm
    }

    #[test]
    fn labels_become_forward_offsets() {
        let program = tcp_only().finish().unwrap();
        assert_eq!(
            program,
            [
                Insn::ldb(9),
                Insn::jeq(6, 0, 1),
                Insn::ret(65535),
                Insn::ret(0)
            ]
        );
    }

    #[test]
    fn inserting_an_instruction_moves_the_jumps_with_it() {
        let mut asm = Assembler::new();
        let reject = asm.label();
        asm.push(Insn::ldb(9));
        asm.jeq(6, NEXT, reject);
        asm.push(Insn::ldh(6)); // one more test before the verdicts
        asm.jset(crate::FRAGMENT, reject, NEXT);
        asm.push(Insn::ret(65535));
        asm.bind(reject);
        asm.push(Insn::ret(0));
        let program = asm.finish().unwrap();
        assert_eq!(program[1], Insn::jeq(6, 0, 3));
        assert_eq!(program[3], Insn::jset(crate::FRAGMENT, 1, 0));
    }

    #[test]
    fn an_unbound_label_is_an_error() {
        let mut asm = Assembler::new();
        let nowhere = asm.label();
        asm.push(Insn::ldb(9));
        asm.jeq(6, NEXT, nowhere);
        asm.push(Insn::ret(0));
        assert_eq!(asm.finish(), Err(ProgramError::UnboundLabel { at: 1 }));
    }

    #[test]
    fn a_label_bound_twice_is_an_error() {
        let mut asm = tcp_only();
        let label = asm.label();
        asm.bind(label);
        asm.bind(label);
        asm.push(Insn::ret(0));
        assert_eq!(asm.finish(), Err(ProgramError::LabelBoundTwice { at: 4 }));
    }

    #[test]
    fn a_backward_jump_is_an_error() {
        let mut asm = Assembler::new();
        let top = asm.label();
        asm.bind(top);
        asm.push(Insn::ldb(9));
        asm.jeq(6, top, NEXT);
        asm.push(Insn::ret(0));
        let error = asm.finish().unwrap_err();
        assert_eq!(error, ProgramError::BackwardJump { at: 1, target: 0 });
        assert_eq!(
            error.to_string(),
            "(001): jumps back to (000); classic BPF jumps only forward"
        );
    }

    #[test]
    fn a_jump_over_more_than_255_instructions_is_an_error() {
        let mut asm = Assembler::new();
        let far = asm.label();
        asm.push(Insn::ldb(9));
        asm.jeq(6, NEXT, far);
        for _ in 0..256 {
            asm.push(Insn::ldb(0));
        }
        asm.bind(far);
        asm.push(Insn::ret(0));
        assert_eq!(
            asm.finish(),
            Err(ProgramError::JumpTooFar { at: 1, target: 258 })
        );
    }

    #[test]
    fn a_label_at_the_very_end_lands_outside() {
        let mut asm = Assembler::new();
        let end = asm.label();
        asm.push(Insn::ldb(9));
        asm.jeq(6, NEXT, end);
        asm.push(Insn::ret(0));
        asm.bind(end); // nothing follows
        let error = asm.finish().unwrap_err();
        assert_eq!(
            error,
            ProgramError::JumpOutside {
                at: 1,
                target: 3,
                len: 3
            }
        );
        assert_eq!(
            error.to_string(),
            "(001): jumps to (003), past the last instruction (002)"
        );
    }

    #[test]
    fn check_finds_each_problem() {
        let ret = Insn::ret(0);
        let cases: Vec<(Vec<Insn>, ProgramError)> = vec![
            (vec![], ProgramError::Empty),
            (
                vec![ret; MAX_INSNS + 1],
                ProgramError::TooLong { len: MAX_INSNS + 1 },
            ),
            (
                vec![
                    Insn {
                        code: 0x07, // tax: not in our set
                        jt: 0,
                        jf: 0,
                        k: 0,
                    },
                    ret,
                ],
                ProgramError::UnknownOpcode { at: 0, code: 0x07 },
            ),
            // jt skips 1: 0 + 1 + 1 = 2, the last instruction; jf skips 2.
            (
                vec![Insn::jeq(6, 1, 2), ret, ret],
                ProgramError::JumpOutside {
                    at: 0,
                    target: 3,
                    len: 3,
                },
            ),
            (vec![Insn::ldb(9)], ProgramError::NoFinalReturn { at: 0 }),
        ];
        for (program, error) in cases {
            assert_eq!(check(&program), Err(error));
        }
        assert_eq!(check(&[Insn::jeq(6, 1, 0), ret, ret]), Ok(()));
        assert_eq!(check(&vec![ret; MAX_INSNS]), Ok(()));
    }
}
