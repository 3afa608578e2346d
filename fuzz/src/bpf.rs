//! What one eBPF ELF input goes through: the loader, the verifier, then the interpreter and the
//! JIT, each under the same budget of backward jumps and local calls, so no mutant can hang.

use patchjit_bpf::elf;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::RawInsn;
use patchjit_bpf::vm::Helpers;

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

/// Backward jumps and local calls a run may take (both tiers count the same events): a program
/// then executes at most this many times its length.
pub const BUDGET: u64 = 1_000;

/// The input memory each program gets (the seeds read and write up to 64 bytes of it).
const INPUT_LEN: usize = 64;

/// Loads the object, and runs what verifies on the interpreter and on the JIT, both with
/// [`BUDGET`].
pub fn elf_object(bytes: &[u8]) -> Reached {
    let Ok(program) = elf::load(bytes, None) else {
        return Reached::Nothing;
    };
    let Ok(mut vm) = Interpreter::new(program.clone(), Helpers::conformance()) else {
        return Reached::Loaded;
    };
    vm.set_budget(Some(BUDGET));
    let _ = vm.run(&mut input());
    if jit(program) {
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
    let options = patchjit::Options::default();
    match Jit::with_budget(program, Helpers::conformance(), &options, BUDGET) {
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
