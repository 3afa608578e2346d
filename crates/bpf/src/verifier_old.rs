//! The verifier before the opcode table (temporary: a parity reference for the new one).
use super::MAX_PROGRAM_SLOTS;
use super::{decode_program, err, VerifyError, VerifyErrorKind};
use crate::isa::{Instruction, RawInsn, FRAME_POINTER};
use crate::vm::{MAX_CALL_DEPTH, STACK_SIZE};

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
