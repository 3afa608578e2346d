//! Static checks run before a program may execute: every slot decodes (valid opcode,
//! registers, no stray bits in unused fields), r10 is never written and accesses through
//! it stay inside the 512-byte frame, jumps and local
//! calls land on instruction starts inside the program, control cannot fall off the
//! end of the program or of a function, jumps stay inside their function, and local
//! calls are not recursive and nest at most [`MAX_CALL_DEPTH`] frames.

use std::fmt;

use crate::isa::{DecodeError, Instruction, RawInsn, FRAME_POINTER};
use crate::vm::{MAX_CALL_DEPTH, STACK_SIZE};

/// Largest accepted program, in slots (the kernel's historical limit).
pub const MAX_PROGRAM_SLOTS: usize = 1 << 20;

/// What is wrong with a program; see [`VerifyError`] for the location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyErrorKind {
    /// No instructions at all.
    Empty,
    /// More than [`MAX_PROGRAM_SLOTS`] slots.
    TooLarge(usize),
    /// The slot does not decode.
    Decode(DecodeError),
    /// The instruction writes the read-only frame pointer r10.
    WritesFramePointer,
    /// A jump or call target outside the program.
    TargetOutOfRange(i64),
    /// A jump or call target in the second slot of a `lddw`.
    TargetInsideLddw(usize),
    /// The last instruction of the program or of a function can continue past its end.
    FallsOffEnd,
    /// A load or store through r10 outside the current 512-byte frame.
    StackOutOfFrame {
        /// displacement from r10
        off: i16,
        /// access width in bytes
        size: usize,
    },
    /// A jump into another function (functions start at slot 0 and at local-call targets).
    JumpOutOfFunction(usize),
    /// A chain of local calls reaches a function already on the chain.
    RecursiveCall,
    /// Nested local calls need more than [`MAX_CALL_DEPTH`] frames.
    CallTooDeep,
}

/// A rejected program: `index` is the slot index of the offending instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Slot index of the offending instruction.
    pub index: usize,
    /// The problem.
    pub kind: VerifyErrorKind,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instruction {}: ", self.index)?;
        match &self.kind {
            VerifyErrorKind::Empty => write!(f, "program has no instructions"),
            VerifyErrorKind::TooLarge(n) => {
                write!(f, "program has {n} slots, limit is {MAX_PROGRAM_SLOTS}")
            }
            VerifyErrorKind::Decode(e) => write!(f, "{e}"),
            VerifyErrorKind::WritesFramePointer => {
                write!(f, "writes the read-only frame pointer r10")
            }
            VerifyErrorKind::TargetOutOfRange(t) => {
                write!(f, "jump or call target {t} is outside the program")
            }
            VerifyErrorKind::TargetInsideLddw(t) => {
                write!(f, "jump or call target {t} is the second slot of a lddw")
            }
            VerifyErrorKind::FallsOffEnd => write!(
                f,
                "control can fall off the end of the program or into the next function"
            ),
            VerifyErrorKind::StackOutOfFrame { off, size } => write!(
                f,
                "{size}-byte stack access at r10{off:+} is outside the {STACK_SIZE}-byte frame"
            ),
            VerifyErrorKind::JumpOutOfFunction(t) => {
                write!(f, "jump to slot {t} leaves the current function")
            }
            VerifyErrorKind::RecursiveCall => write!(f, "recursive local call"),
            VerifyErrorKind::CallTooDeep => {
                write!(f, "local calls nest deeper than {MAX_CALL_DEPTH} frames")
            }
        }
    }
}

impl std::error::Error for VerifyError {}

fn err(index: usize, kind: VerifyErrorKind) -> VerifyError {
    VerifyError { index, kind }
}

/// Decodes every instruction, returning `(slot index, instruction)` pairs.
pub fn decode_program(prog: &[RawInsn]) -> Result<Vec<(usize, Instruction)>, VerifyError> {
    let mut out = Vec::with_capacity(prog.len());
    let mut pc = 0;
    while pc < prog.len() {
        let ins =
            Instruction::decode(&prog[pc..]).map_err(|e| err(pc, VerifyErrorKind::Decode(e)))?;
        out.push((pc, ins));
        pc += ins.slots();
    }
    Ok(out)
}

/// Checks `prog`; `Ok` means the interpreter may run it.
pub fn verify(prog: &[RawInsn]) -> Result<(), VerifyError> {
    if prog.is_empty() {
        return Err(err(0, VerifyErrorKind::Empty));
    }
    if prog.len() > MAX_PROGRAM_SLOTS {
        return Err(err(0, VerifyErrorKind::TooLarge(prog.len())));
    }
    let insns = decode_program(prog)?;
    // Per slot: whether an instruction starts there, and whether it ends control (exit, ja).
    let mut is_start = vec![false; prog.len()];
    let mut terminal = vec![false; prog.len()];
    for &(pc, ins) in &insns {
        is_start[pc] = true;
        terminal[pc] = matches!(ins, Instruction::Exit | Instruction::Ja { .. });
    }
    let check_target = |pc: usize, off: i64| -> Result<usize, VerifyError> {
        let t = pc as i64 + 1 + off;
        if t < 0 || t >= prog.len() as i64 {
            return Err(err(pc, VerifyErrorKind::TargetOutOfRange(t)));
        }
        if !is_start[t as usize] {
            return Err(err(pc, VerifyErrorKind::TargetInsideLddw(t as usize)));
        }
        Ok(t as usize)
    };
    let mut entries = vec![0usize];
    let mut calls = Vec::new();
    let mut jumps = Vec::new();
    for &(pc, ins) in &insns {
        if ins.written_register() == Some(FRAME_POINTER) {
            return Err(err(pc, VerifyErrorKind::WritesFramePointer));
        }
        if let Some((off, size)) = frame_access(&ins) {
            let start = off as i64;
            if start < -(STACK_SIZE as i64) || start + size as i64 > 0 {
                return Err(err(pc, VerifyErrorKind::StackOutOfFrame { off, size }));
            }
        }
        match ins {
            Instruction::Ja { off, .. } => jumps.push((pc, check_target(pc, off as i64)?)),
            Instruction::Jump { off, .. } => jumps.push((pc, check_target(pc, off as i64)?)),
            Instruction::CallLocal { off } => {
                let t = check_target(pc, off as i64)?;
                entries.push(t);
                calls.push((pc, t));
            }
            _ => {}
        }
    }
    entries.sort_unstable();
    entries.dedup();
    let func_of = |pc: usize| entries.partition_point(|&e| e <= pc) - 1;
    // Each function (slot 0 and every local-call target up to the next one) must end in `exit`
    // or `ja`: the instruction before each later entry, and the last one. In slot order, so
    // the first offender is reported.
    let last_before = |end: usize| {
        let pc = if is_start[end - 1] { end - 1 } else { end - 2 };
        (pc, terminal[pc])
    };
    for end in entries[1..].iter().copied().chain([prog.len()]) {
        if let (pc, false) = last_before(end) {
            return Err(err(pc, VerifyErrorKind::FallsOffEnd));
        }
    }
    for &(pc, target) in &jumps {
        if func_of(pc) != func_of(target) {
            return Err(err(pc, VerifyErrorKind::JumpOutOfFunction(target)));
        }
    }
    check_call_graph(&entries, &calls)
}

/// Displacement and width of a memory access based on r10, if the instruction makes one.
fn frame_access(ins: &Instruction) -> Option<(i16, usize)> {
    match *ins {
        Instruction::Load {
            size,
            src: FRAME_POINTER,
            off,
            ..
        }
        | Instruction::Store {
            size,
            dst: FRAME_POINTER,
            off,
            ..
        }
        | Instruction::Atomic {
            size,
            dst: FRAME_POINTER,
            off,
            ..
        } => Some((off, size.bytes())),
        _ => None,
    }
}

/// Functions start at slot 0 and at every local-call target and extend to the next start.
fn check_call_graph(entries: &[usize], calls: &[(usize, usize)]) -> Result<(), VerifyError> {
    if calls.is_empty() {
        return Ok(());
    }
    let func_of = |pc: usize| entries.partition_point(|&e| e <= pc) - 1;
    let n = entries.len();
    // edges[f] = (call site, callee function)
    let mut edges = vec![Vec::new(); n];
    for &(site, target) in calls {
        edges[func_of(site)].push((site, func_of(target)));
    }
    // Iterative DFS from the entry function tracking the chain of active calls.
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnChain,
        Done,
    }
    let mut state = vec![State::New; n];
    let mut max_below = vec![1usize; n];
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    state[0] = State::OnChain;
    while let Some(&mut (f, ref mut next)) = stack.last_mut() {
        if let Some(&(site, g)) = edges[f].get(*next) {
            *next += 1;
            match state[g] {
                State::OnChain => return Err(err(site, VerifyErrorKind::RecursiveCall)),
                State::New => {
                    state[g] = State::OnChain;
                    stack.push((g, 0));
                }
                State::Done => {}
            }
            if state[g] == State::Done && max_below[g] + 1 > max_below[f] {
                max_below[f] = max_below[g] + 1;
                if max_below[f] > MAX_CALL_DEPTH {
                    return Err(err(site, VerifyErrorKind::CallTooDeep));
                }
            }
        } else {
            state[f] = State::Done;
            stack.pop();
            if let Some(&(p, next)) = stack.last() {
                let site = edges[p][next - 1].0;
                if max_below[f] + 1 > max_below[p] {
                    max_below[p] = max_below[f] + 1;
                    if max_below[p] > MAX_CALL_DEPTH {
                        return Err(err(site, VerifyErrorKind::CallTooDeep));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    fn check(src: &str) -> Result<(), VerifyError> {
        verify(&assemble(src).expect("assembles"))
    }

    #[test]
    fn accepts_simple_program() {
        assert_eq!(check("mov %r0, 1\nexit\n"), Ok(()));
    }

    #[test]
    fn rejects_write_to_r10_naming_index() {
        let e = check("mov %r0, 1\nmov %r10, 0\nexit\n").unwrap_err();
        assert_eq!(e.index, 1);
        assert_eq!(e.kind, VerifyErrorKind::WritesFramePointer);
    }

    #[test]
    fn rejects_falling_off_end_and_bad_targets() {
        assert_eq!(
            check("mov %r0, 1\n").unwrap_err().kind,
            VerifyErrorKind::FallsOffEnd
        );
        let e = check("mov %r0, 0\nstxdw [%r10-4], %r0\nexit\n").unwrap_err();
        assert_eq!(
            (e.index, e.kind),
            (1, VerifyErrorKind::StackOutOfFrame { off: -4, size: 8 })
        );
        assert!(check("ldxb %r0, [%r10-513]\nexit\n").is_err());
        assert!(check("ldxb %r0, [%r10-512]\nexit\n").is_ok());
        let e = check("call local f\nmov %r0, 1\nf:\nexit\n").unwrap_err();
        assert_eq!((e.index, e.kind), (1, VerifyErrorKind::FallsOffEnd));
        let e = check("ja g\ncall local f\nexit\nf:\ng:\nexit\n").unwrap_err();
        assert_eq!(
            (e.index, e.kind),
            (0, VerifyErrorKind::JumpOutOfFunction(3))
        );
        assert_eq!(
            check("ja +5\nexit\n").unwrap_err().kind,
            VerifyErrorKind::TargetOutOfRange(6)
        );
        assert_eq!(
            check("ja +1\nlddw %r0, 1\nexit\n").unwrap_err().kind,
            VerifyErrorKind::TargetInsideLddw(2)
        );
    }

    #[test]
    fn rejects_recursion_and_deep_calls() {
        let e = check("call local f\nexit\nf:\ncall local f\nexit\n").unwrap_err();
        assert_eq!((e.index, e.kind), (2, VerifyErrorKind::RecursiveCall));
        let mut deep = String::new();
        for k in 0..MAX_CALL_DEPTH {
            deep += &format!("call local f{k}\nexit\nf{k}:\n");
        }
        deep += "exit\n";
        assert_eq!(check(&deep).unwrap_err().kind, VerifyErrorKind::CallTooDeep);
    }
}
