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

/// What the checks need to know of one instruction, from the opcode table or the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Facts {
    /// Slots taken (2 for `lddw`).
    slots: usize,
    /// Whether it writes r10.
    writes_frame_pointer: bool,
    /// Displacement and width of a memory access through r10.
    frame: Option<(i16, usize)>,
    /// Its control transfer, as an offset from the next slot.
    branch: Branch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Branch {
    None,
    Jump(i64),
    Call(i64),
}

/// Opcode table bits: `FAST` opcodes are decided from these bits alone when their fields pass
/// the `*_ZERO` tests and both register fields are at most r10; every other slot (invalid
/// opcodes, `lddw`, atomics, byte swaps, `movsx`, signed division, and any
/// field the table does not allow) goes through [`Instruction::decode`], which decides it
/// exactly and names the problem.
const FAST: u16 = 1;
const DST_ZERO: u16 = 1 << 1;
const SRC_ZERO: u16 = 1 << 2;
const OFF_ZERO: u16 = 1 << 3;
const IMM_ZERO: u16 = 1 << 4;
const WRITES_DST: u16 = 1 << 5;
/// A memory access based on dst (stores) or src (loads); the width is in opcode bits 3..5.
const FRAME_DST: u16 = 1 << 6;
const FRAME_SRC: u16 = 1 << 7;
/// A jump by `off` (`ja`, conditional jumps) or by `imm` (`ja32`).
const JUMP_OFF: u16 = 1 << 8;
const JUMP_IMM: u16 = 1 << 9;
/// `call`: a helper (src 0) or a local call by `imm` (src 1); any other src is decoded.
const CALL: u16 = 1 << 10;

/// The table entry of one opcode byte (0: always decoded).
const fn rule(op: u8) -> u16 {
    let code = op & 0xf0;
    let reg_form = op & 0x08 != 0;
    // The second operand of ALU operations and conditional jumps: a register or `imm`.
    let operand = if reg_form { IMM_ZERO } else { SRC_ZERO };
    match op & 7 {
        // ALU, ALU64: `neg`, and the unsigned operations with offset 0.
        4 | 7 => match code {
            0x80 if !reg_form => FAST | SRC_ZERO | OFF_ZERO | IMM_ZERO | WRITES_DST,
            0x80 | 0xd0 | 0xe0 | 0xf0 => 0,
            _ => FAST | OFF_ZERO | WRITES_DST | operand,
        },
        // LDX: `ldx*` and `ldxs*` (no 64-bit sign extension).
        1 => match op & 0xe0 {
            0x60 => FAST | IMM_ZERO | WRITES_DST | FRAME_SRC,
            0x80 if op & 0x18 != 0x18 => FAST | IMM_ZERO | WRITES_DST | FRAME_SRC,
            _ => 0,
        },
        // ST, STX (atomics are decoded).
        2 if op & 0xe0 == 0x60 => FAST | SRC_ZERO | FRAME_DST,
        3 if op & 0xe0 == 0x60 => FAST | IMM_ZERO | FRAME_DST,
        5 => match op {
            0x05 => FAST | DST_ZERO | SRC_ZERO | IMM_ZERO | JUMP_OFF,
            0x85 => FAST | DST_ZERO | OFF_ZERO | CALL,
            0x8d => FAST | SRC_ZERO | OFF_ZERO | IMM_ZERO,
            0x95 => FAST | DST_ZERO | SRC_ZERO | OFF_ZERO | IMM_ZERO,
            _ => match code {
                0x00 | 0x80 | 0x90 | 0xe0 | 0xf0 => 0,
                _ => FAST | JUMP_OFF | operand,
            },
        },
        6 => match op {
            0x06 => FAST | DST_ZERO | SRC_ZERO | OFF_ZERO | JUMP_IMM,
            _ => match code {
                0x00 | 0x80 | 0x90 | 0xe0 | 0xf0 => 0,
                _ => FAST | JUMP_OFF | operand,
            },
        },
        _ => 0,
    }
}

const RULES: [u16; 256] = {
    let mut rules = [0; 256];
    let mut op = 0;
    while op < 256 {
        rules[op] = rule(op as u8);
        op += 1;
    }
    rules
};

/// Access width of a memory opcode (bits 3..5).
fn access_bytes(opcode: u8) -> usize {
    [4, 2, 1, 8][((opcode >> 3) & 3) as usize]
}

/// Field classes of a slot, as bits the [`PLAIN`] table forbids: per register field (dst,
/// then the same three shifted for src) nonzero, r10, above r10; then `off` and `imm`
/// nonzero.
const F_DST: u16 = 1;
const F_DST_R10: u16 = 1 << 1;
const F_DST_BAD: u16 = 1 << 2;
const F_SRC: u16 = F_DST << 3;
const F_SRC_R10: u16 = F_DST_R10 << 3;
const F_SRC_BAD: u16 = F_DST_BAD << 3;
const F_OFF: u16 = 1 << 6;
const F_IMM: u16 = 1 << 7;
/// Set in every slot: forbidden where the table alone never suffices.
const F_ALWAYS: u16 = 1 << 8;

/// The dst classes of a register field value (a table: one load instead of three tests).
const REG_CLASS: [u16; 256] = {
    let mut class = [0; 256];
    let mut r = 1;
    while r < 256 {
        class[r] = F_DST;
        if r == FRAME_POINTER as usize {
            class[r] |= F_DST_R10;
        } else if r > FRAME_POINTER as usize {
            class[r] |= F_DST_BAD;
        }
        r += 1;
    }
    class
};

/// Per opcode, the field classes with which the table cannot accept a slot (`ACCEPT`: a
/// nonzero field the opcode needs zero, an invalid register, and for opcodes the table does
/// not decide, every slot), and those that also take it off the hot path (`PLAIN`: r10
/// written or the base of an access, and every branch).
const fn forbidden(rule: u16, plain: bool) -> u16 {
    let mut forbid = F_DST_BAD | F_SRC_BAD;
    if rule & FAST == 0 || (plain && rule & (JUMP_OFF | JUMP_IMM) != 0) {
        forbid |= F_ALWAYS;
    }
    // A local call (src 1) branches.
    if plain && rule & CALL != 0 {
        forbid |= F_SRC;
    }
    let pairs = [
        (DST_ZERO, F_DST, true),
        (SRC_ZERO, F_SRC, true),
        (OFF_ZERO, F_OFF, true),
        (IMM_ZERO, F_IMM, true),
        (WRITES_DST | FRAME_DST, F_DST_R10, plain),
        (FRAME_SRC, F_SRC_R10, plain),
    ];
    let mut k = 0;
    while k < pairs.len() {
        if rule & pairs[k].0 != 0 && pairs[k].2 {
            forbid |= pairs[k].1;
        }
        k += 1;
    }
    forbid
}

const fn forbidden_table(plain: bool) -> [u16; 256] {
    let mut table = [0; 256];
    let mut op = 0;
    while op < 256 {
        table[op] = forbidden(RULES[op], plain);
        op += 1;
    }
    table
}

const ACCEPT: [u16; 256] = forbidden_table(false);
const PLAIN: [u16; 256] = forbidden_table(true);

/// The field classes of `i`.
#[inline(always)]
fn classes(i: RawInsn) -> u16 {
    let off = if i.off != 0 { F_OFF } else { 0 };
    let imm = if i.imm != 0 { F_IMM } else { 0 };
    F_ALWAYS | REG_CLASS[i.dst as usize] | (REG_CLASS[i.src as usize] << 3) | off | imm
}

/// Whether the table accepts `i` and there is nothing more to check: no branch, and r10
/// neither written nor the base of an access. Most instructions; the verifier's hot path.
#[inline(always)]
fn plain(i: RawInsn) -> bool {
    PLAIN[i.opcode as usize] & classes(i) == 0
}

/// What [`quick`] found.
#[derive(Debug, PartialEq, Eq)]
enum Quick {
    /// A slot with nothing more to check: an access through r10 inside the frame.
    Done,
    /// A jump to this slot, inside the program (its target still to be checked).
    Jump(usize),
    /// Anything else: the general path.
    No,
}

/// The two commonest slots after [`plain`] ones, decided from the table without [`Facts`].
#[inline(always)]
fn quick(i: RawInsn, pc: usize, len: i64) -> Quick {
    let c = classes(i);
    let op = i.opcode as usize;
    if ACCEPT[op] & c != 0 {
        return Quick::No;
    }
    let rule = RULES[op];
    if rule & JUMP_OFF != 0 {
        let t = pc as i64 + 1 + i64::from(i.off);
        return if (0..len).contains(&t) {
            Quick::Jump(t as usize)
        } else {
            Quick::No
        };
    }
    let through_r10 = (rule & FRAME_DST != 0 && c & F_DST_R10 != 0)
        || (rule & FRAME_SRC != 0 && c & F_SRC_R10 != 0 && c & F_DST_R10 == 0);
    let start = i64::from(i.off);
    if through_r10 && start >= -(STACK_SIZE as i64) && start + access_bytes(i.opcode) as i64 <= 0 {
        return Quick::Done;
    }
    Quick::No
}

/// The facts of `i` if the opcode table decides it alone.
#[inline(always)]
fn fast_facts(i: RawInsn) -> Option<Facts> {
    let c = classes(i);
    if ACCEPT[i.opcode as usize] & c != 0 {
        return None;
    }
    let rule = RULES[i.opcode as usize];
    if rule & CALL != 0 && i.src > 1 {
        return None;
    }
    let r10_base = (rule & FRAME_DST != 0 && c & F_DST_R10 != 0)
        || (rule & FRAME_SRC != 0 && c & F_SRC_R10 != 0);
    let branch = if rule & JUMP_OFF != 0 {
        Branch::Jump(i64::from(i.off))
    } else if rule & JUMP_IMM != 0 {
        Branch::Jump(i64::from(i.imm))
    } else if rule & CALL != 0 && i.src == 1 {
        Branch::Call(i64::from(i.imm))
    } else {
        Branch::None
    };
    Some(Facts {
        slots: 1,
        writes_frame_pointer: rule & WRITES_DST != 0 && c & F_DST_R10 != 0,
        frame: r10_base.then(|| (i.off, access_bytes(i.opcode))),
        branch,
    })
}

/// The facts of a decoded instruction.
fn decoded_facts(ins: &Instruction) -> Facts {
    Facts {
        slots: ins.slots(),
        writes_frame_pointer: ins.written_register() == Some(FRAME_POINTER),
        frame: frame_access(ins),
        branch: match *ins {
            Instruction::Ja { off, .. } => Branch::Jump(i64::from(off)),
            Instruction::Jump { off, .. } => Branch::Jump(i64::from(off)),
            Instruction::CallLocal { off } => Branch::Call(i64::from(off)),
            _ => Branch::None,
        },
    }
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

/// Whether `opcode` ends control: `exit`, `ja`, `ja32` (on a slot that decoded).
fn terminal(opcode: u8) -> bool {
    matches!(opcode, 0x95 | 0x05 | 0x06)
}

/// Checks `prog`; `Ok` means the interpreter may run it.
///
/// One pass over the slots decides each from a 256-entry opcode table, decoding only the
/// slots the table leaves open; it reports the first problem in this order: a slot that does
/// not decode, then (the first in slot order) a write to r10, a stack access outside the
/// frame, a bad jump or call target; then a function that falls off its end, a jump out of
/// its function, and the call graph.
pub fn verify(prog: &[RawInsn]) -> Result<(), VerifyError> {
    verify_shape(prog).map(drop)
}

/// What the verifier learns of a program's shape on the way, so that the JIT need not walk
/// the program again to find it.
pub(crate) struct Shape {
    /// Second slots of `lddw`, ascending: the only slots where no instruction starts.
    pub second_slots: Vec<usize>,
    /// The first slot of each function (0 and every local-call target), ascending.
    pub entries: Vec<usize>,
    /// Targets of backward jumps (loop heads), ascending, each once.
    pub loop_heads: Vec<usize>,
}

/// [`verify`], returning the program's [`Shape`].
pub(crate) fn verify_shape(prog: &[RawInsn]) -> Result<Shape, VerifyError> {
    if prog.is_empty() {
        return Err(err(0, VerifyErrorKind::Empty));
    }
    if prog.len() > MAX_PROGRAM_SLOTS {
        return Err(err(0, VerifyErrorKind::TooLarge(prog.len())));
    }
    let len = prog.len() as i64;
    // The first problem after decoding, in slot order (decoding goes on: its errors come first).
    let mut first: Option<VerifyError> = None;
    // Second slots of `lddw`, ascending: the only slots where no instruction starts.
    let mut second_slots = Vec::new();
    // Room for a jump in every fourth slot, so that branchy programs do not reallocate.
    let mut jumps = Vec::with_capacity(prog.len() / 4);
    let mut calls = Vec::new();
    let mut pc = 0;
    while pc < prog.len() {
        let i = prog[pc];
        if plain(i) {
            pc += 1;
            continue;
        }
        // The next most common slots: an access through r10 inside the frame, a jump inside
        // the program.
        match quick(i, pc, len) {
            Quick::Done => {
                pc += 1;
                continue;
            }
            Quick::Jump(t) => {
                jumps.push((pc, t));
                pc += 1;
                continue;
            }
            Quick::No => {}
        }
        let facts = match fast_facts(prog[pc]) {
            Some(facts) => facts,
            None => {
                let ins = Instruction::decode(&prog[pc..])
                    .map_err(|e| err(pc, VerifyErrorKind::Decode(e)))?;
                decoded_facts(&ins)
            }
        };
        if facts.slots == 2 {
            second_slots.push(pc + 1);
        }
        if first.is_none() {
            let problem = if facts.writes_frame_pointer {
                Some(VerifyErrorKind::WritesFramePointer)
            } else if let Some((off, size)) = facts.frame.filter(|&(off, size)| {
                let start = i64::from(off);
                start < -(STACK_SIZE as i64) || start + size as i64 > 0
            }) {
                Some(VerifyErrorKind::StackOutOfFrame { off, size })
            } else {
                match facts.branch {
                    Branch::None => None,
                    Branch::Jump(off) | Branch::Call(off) => {
                        let t = pc as i64 + 1 + off;
                        if (0..len).contains(&t) {
                            match facts.branch {
                                Branch::Call(_) => calls.push((pc, t as usize)),
                                _ => jumps.push((pc, t as usize)),
                            }
                            None
                        } else {
                            Some(VerifyErrorKind::TargetOutOfRange(t))
                        }
                    }
                }
            };
            first = problem.map(|kind| err(pc, kind));
        }
        pc += facts.slots;
    }
    let is_start = |slot: usize| second_slots.binary_search(&slot).is_err();
    // A target in a second slot is known only now; it counts where its jump or call is.
    if !second_slots.is_empty() {
        let inside = |list: &[(usize, usize)]| list.iter().find(|&&(_, t)| !is_start(t)).copied();
        let bad = [inside(&jumps), inside(&calls)].into_iter().flatten().min();
        if let Some((site, t)) = bad {
            if first.as_ref().is_none_or(|e| site < e.index) {
                first = Some(err(site, VerifyErrorKind::TargetInsideLddw(t)));
            }
        }
    }
    if let Some(e) = first {
        return Err(e);
    }
    let mut entries: Vec<usize> = Vec::with_capacity(calls.len() + 1);
    entries.push(0);
    entries.extend(calls.iter().map(|&(_, t)| t));
    entries.sort_unstable();
    entries.dedup();
    // Each function (slot 0 and every local-call target up to the next one) must end in `exit`
    // or `ja`: the instruction before each later entry, and the last one. In slot order, so
    // the first offender is reported.
    for end in entries[1..].iter().copied().chain([prog.len()]) {
        let pc = if is_start(end - 1) { end - 1 } else { end - 2 };
        if !terminal(prog[pc].opcode) {
            return Err(err(pc, VerifyErrorKind::FallsOffEnd));
        }
    }
    if entries.len() > 1 {
        // Jumps in slot order, with the bounds of the function holding each: a jump stays in
        // its function when its target is within them.
        let mut f = 0;
        for &(pc, target) in &jumps {
            while f + 1 < entries.len() && entries[f + 1] <= pc {
                f += 1;
            }
            let end = entries.get(f + 1).copied().unwrap_or(prog.len());
            if !(entries[f]..end).contains(&target) {
                return Err(err(pc, VerifyErrorKind::JumpOutOfFunction(target)));
            }
        }
    }
    check_call_graph(&entries, &calls)?;
    let mut loop_heads: Vec<usize> = jumps
        .iter()
        .filter(|&&(pc, target)| target <= pc)
        .map(|&(_, target)| target)
        .collect();
    loop_heads.sort_unstable();
    loop_heads.dedup();
    Ok(Shape {
        second_slots,
        entries,
        loop_heads,
    })
}

/// Functions start at slot 0 and at every local-call target and extend to the next start.
fn check_call_graph(entries: &[usize], calls: &[(usize, usize)]) -> Result<(), VerifyError> {
    if calls.is_empty() {
        return Ok(());
    }
    let n = entries.len();
    // The call graph's edges by caller, as ranges of `calls` (listed in slot order, so each
    // function's calls are contiguous): function f's calls are `calls[begin[f]..begin[f + 1]]`.
    let mut begin = vec![0usize; n + 1];
    let mut f = 0;
    for (k, &(site, _)) in calls.iter().enumerate() {
        while f + 1 < n && entries[f + 1] <= site {
            f += 1;
            begin[f] = k;
        }
    }
    for b in &mut begin[f + 1..] {
        *b = calls.len();
    }
    // Call targets are entries: the callee is the target's index among them.
    let callee = |k: usize| entries.partition_point(|&e| e < calls[k].1);
    let edge = |f: usize, next: usize| {
        let k = begin[f] + next;
        (k < begin[f + 1]).then(|| (calls[k].0, callee(k)))
    };
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
        if let Some((site, g)) = edge(f, *next) {
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
                let site = calls[begin[p] + next - 1].0;
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

    /// Field values around every boundary the decoder and the table test.
    const REGS: [u8; 5] = [0, 1, 10, 11, 0xff];
    const OFFS: [i16; 10] = [0, 1, -1, 8, 16, 32, 7, -512, -513, -8];
    const IMMS: [i32; 12] = [0, 1, -1, 16, 32, 64, 0x40, 0x41, 0x50, 0xe1, 0xf1, 7];

    /// Every slot the opcode table decides alone, the decoder accepts with the same facts.
    #[test]
    fn opcode_table_agrees_with_the_decoder() {
        let mut fast = 0;
        for op in 0..=255u8 {
            for dst in REGS {
                for src in REGS {
                    for off in OFFS {
                        for imm in IMMS {
                            let i = RawInsn::new(op, dst, src, off, imm);
                            let Some(facts) = fast_facts(i) else { continue };
                            let ins = Instruction::decode(&[i, RawInsn::default()])
                                .unwrap_or_else(|e| panic!("{i:?} passes the table: {e}"));
                            assert_eq!(facts, decoded_facts(&ins), "{i:?} {ins:?}");
                            let nothing = Facts {
                                slots: 1,
                                writes_frame_pointer: false,
                                frame: None,
                                branch: Branch::None,
                            };
                            assert_eq!(plain(i), facts == nothing, "{i:?}");
                            for (pc, len) in [(0, 1), (5, 6), (100, 1 << 20)] {
                                let target = |off: i64| {
                                    let t = pc as i64 + 1 + off;
                                    (0..len).contains(&t).then_some(t as usize)
                                };
                                let expected = match facts {
                                    Facts {
                                        writes_frame_pointer: true,
                                        ..
                                    } => Quick::No,
                                    Facts {
                                        frame: Some((off, size)),
                                        ..
                                    } if off >= -512 && i64::from(off) + size as i64 <= 0 => {
                                        Quick::Done
                                    }
                                    Facts {
                                        branch: Branch::Jump(off),
                                        ..
                                    } if i.opcode != 0x06 => {
                                        target(off).map_or(Quick::No, Quick::Jump)
                                    }
                                    _ => Quick::No,
                                };
                                assert_eq!(quick(i, pc, len), expected, "{i:?} at {pc} of {len}");
                            }
                            fast += 1;
                        }
                    }
                }
            }
        }
        assert!(fast > 10_000, "only {fast} slots took the table");
    }

    /// The common instructions never need the decoder.
    #[test]
    fn common_instructions_take_the_table() {
        let prog = assemble(
            "mov %r0, 1\nadd32 %r0, %r1\nneg %r2\nldxdw %r1, [%r10-8]\nldxsb %r1, [%r2+1]\n\
             stdw [%r10-8], 1\nstxw [%r1], %r2\nja +0\nja32 +0\njeq %r1, 3, +0\n\
             jslt32 %r1, %r2, +0\ncall 1\ncall %r3\ncall local +0\nexit\n",
        )
        .unwrap();
        for i in prog {
            assert!(fast_facts(i).is_some(), "{i:?}");
        }
    }

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

    /// A target in a lddw's second slot is known only after the pass; it is still reported
    /// in slot order among the per-instruction problems, and after any decoding problem.
    #[test]
    fn errors_keep_slot_order_across_the_pass() {
        let e = check("ja +1\nlddw %r0, 1\nmov %r10, 0\nexit\n").unwrap_err();
        assert_eq!((e.index, e.kind), (0, VerifyErrorKind::TargetInsideLddw(2)));
        let e = check("mov %r10, 0\nja +1\nlddw %r0, 1\nexit\n").unwrap_err();
        assert_eq!((e.index, e.kind), (0, VerifyErrorKind::WritesFramePointer));
        let e = check("call local +1\nlddw %r0, 1\nexit\n").unwrap_err();
        assert_eq!((e.index, e.kind), (0, VerifyErrorKind::TargetInsideLddw(2)));
        let mut prog = assemble("mov %r10, 0\nexit\n").unwrap();
        prog.push(RawInsn::new(0xff, 0, 0, 0, 0));
        let e = verify(&prog).unwrap_err();
        assert_eq!(
            (e.index, e.kind),
            (2, VerifyErrorKind::Decode(DecodeError::InvalidOpcode(0xff)))
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
