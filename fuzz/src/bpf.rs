//! What one eBPF ELF input goes through: the loader, the verifier, the interpreter under an
//! instruction budget, and the JIT for programs whose running time is bounded by their shape.

use patchjit_bpf::elf;
use patchjit_bpf::interp::{Helpers, Interpreter};
use patchjit_bpf::isa::{Instruction, RawInsn};
use patchjit_bpf::verifier::decode_program;

/// How far an input got: the campaign reports how many mutants reached each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reached {
    /// The loader refused it.
    Nothing,
    /// Loaded, but the verifier refused it.
    Loaded,
    /// Verified and run on the interpreter (whatever the result, budget exhaustion included).
    Interpreted,
    /// Also compiled and run by the JIT.
    Jitted,
}

/// Instructions the interpreter may execute per input; also the bound below which the JIT runs.
pub const BUDGET: u64 = 100_000;

/// The input memory each program gets (the seeds read and write up to 64 bytes of it).
const INPUT_LEN: usize = 64;

/// Loads the object, and runs what verifies on the interpreter with a budget, then on the JIT
/// when [`bounded_steps`] proves the program stops within [`BUDGET`] instructions: the JIT has
/// no budget, so a mutated loop would hang it.
pub fn elf_object(bytes: &[u8]) -> Reached {
    let Ok(program) = elf::load(bytes, None) else {
        return Reached::Nothing;
    };
    let Ok(mut vm) = Interpreter::new(program.clone(), Helpers::conformance()) else {
        return Reached::Loaded;
    };
    vm.set_budget(Some(BUDGET));
    let _ = vm.run(&mut input());
    if bounded_steps(&program).is_some_and(|n| n <= BUDGET) && jit(program) {
        Reached::Jitted
    } else {
        Reached::Interpreted
    }
}

fn input() -> Vec<u8> {
    (0..INPUT_LEN as u8).map(|i| i.wrapping_mul(37)).collect()
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
fn jit(program: Vec<RawInsn>) -> bool {
    use patchjit_bpf::jit::Jit;
    match Jit::new(program, Helpers::conformance()) {
        Ok(jit) => {
            let _ = jit.run(&mut input());
            true
        }
        Err(_) => false,
    }
}

/// The JIT exists where its stencil tables are committed (Linux on x86-64 and AArch64).
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
fn jit(_: Vec<RawInsn>) -> bool {
    false
}

/// An upper bound on the instructions a program executes, when its jumps all go forward: each
/// instruction of a function then runs at most once per call, so a function costs its length
/// plus the cost of every local call in it. `None` for a program with a backward jump, one that
/// does not decode, or whose local calls leave it or recurse (which the verifier rejects).
pub fn bounded_steps(program: &[RawInsn]) -> Option<u64> {
    let instructions = decode_program(program).ok()?;
    let target = |pc: usize, off: i64| usize::try_from(pc as i64 + 1 + off).ok();
    // Functions start at slot 0 and at local-call targets, and run to the next start.
    let mut entries = vec![0usize];
    for &(pc, instruction) in &instructions {
        match instruction {
            Instruction::Ja { off, .. } if off < 0 => return None,
            Instruction::Jump { off, .. } if off < 0 => return None,
            Instruction::CallLocal { off } => entries.push(target(pc, off as i64)?),
            _ => {}
        }
    }
    entries.sort_unstable();
    entries.dedup();
    let function_of = |pc: usize| entries.partition_point(|&e| e <= pc) - 1;
    // Each round prices the functions whose callees are all priced; an acyclic call graph is
    // done after one round per nesting level, a cycle stops making progress.
    let mut cost: Vec<Option<u64>> = vec![None; entries.len()];
    loop {
        let mut total: Vec<Option<u64>> = vec![Some(0); entries.len()];
        for &(pc, instruction) in &instructions {
            let step = match instruction {
                Instruction::CallLocal { off } => {
                    cost[function_of(target(pc, off as i64)?)].map(|c| c.saturating_add(1))
                }
                _ => Some(1),
            };
            let f = function_of(pc);
            total[f] = total[f].zip(step).map(|(t, s)| t.saturating_add(s));
        }
        if total == cost {
            return cost[0];
        }
        cost = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchjit_bpf::asm::assemble;

    fn steps(source: &str) -> Option<u64> {
        bounded_steps(&assemble(source).unwrap())
    }

    #[test]
    fn forward_programs_are_bounded_by_their_length_and_calls() {
        assert_eq!(
            steps("mov %r0, 1\njeq %r0, 1, +1\nmov %r0, 2\nexit"),
            Some(4)
        );
        // Slot 0..=3 is the entry (a call costs 1 plus the callee's 3), slot 4..=6 the callee.
        let program = "call local f\ncall local f\nmov %r0, 1\nexit\n\
                       f:\nmov %r0, 2\nadd %r0, 1\nexit";
        assert_eq!(steps(program), Some(4 + 2 * 3));
    }

    #[test]
    fn backward_jumps_and_recursion_are_unbounded() {
        assert_eq!(steps("mov %r0, 3\nsub %r0, 1\njne %r0, 0, -2\nexit"), None);
        assert_eq!(steps("l:\nja l"), None);
        assert_eq!(steps("call local f\nexit\nf:\ncall local f\nexit"), None);
    }
}
