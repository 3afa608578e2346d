//! What both benchmarks share: the engines, each program compiled for every one that takes
//! it, run and checked against patchjit's interpreter (`engines.rs` times them with criterion,
//! `minimum.rs` by the fastest of many interleaved runs).

#![allow(dead_code)]

#[path = "../../../../crates/bpf/benches/programs.rs"]
pub mod programs;
#[path = "../../../../crates/bpf/tests/programs/suite.rs"]
pub mod suite;

use std::path::Path;
use std::time::{Duration, Instant};

use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::{opcode, RawInsn};
use patchjit_bpf::jit::Jit;
use programs::{ARITH, ITERS, MEMORY};

/// Budget of the budgeted JIT: never reached by these programs, so that it costs what
/// counting costs.
const BUDGET: u64 = 1 << 40;

#[derive(Clone, Copy, Debug)]
pub enum Engine {
    PatchjitJit,
    PatchjitJitBudget,
    PatchjitJitUnchecked,
    PatchjitInterp,
    RbpfJit,
    RbpfCranelift,
    RbpfInterp,
}

impl Engine {
    pub const ALL: [Engine; 7] = [
        Engine::PatchjitJit,
        Engine::PatchjitJitBudget,
        Engine::PatchjitJitUnchecked,
        Engine::PatchjitInterp,
        Engine::RbpfJit,
        Engine::RbpfCranelift,
        Engine::RbpfInterp,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Engine::PatchjitJit => "patchjit_jit",
            Engine::PatchjitJitBudget => "patchjit_jit_budget",
            Engine::PatchjitJitUnchecked => "patchjit_jit_unchecked",
            Engine::PatchjitInterp => "patchjit_interp",
            Engine::RbpfJit => "rbpf_jit",
            Engine::RbpfCranelift => "rbpf_cranelift",
            Engine::RbpfInterp => "rbpf_interp",
        }
    }
}

/// Cranelift compiles every `call` as a helper call (rbpf 0.4.1's `cranelift.rs`), so programs
/// with local calls are refused (as calls of unknown helpers).
fn has_local_calls(prog: &[RawInsn]) -> bool {
    prog.iter().any(|i| i.opcode == opcode::CALL && i.src == 1)
}

/// One program compiled for every engine that takes it.
pub struct Engines<'a> {
    pub interp: Interpreter,
    jit: Jit,
    jit_budget: Jit,
    /// No bounds checks, like rbpf's x86-64 JIT (run only after `check`, see `run`).
    jit_unchecked: Jit,
    /// rbpf's VM: its interpreter and, when they take the program, its x86-64 JIT and
    /// Cranelift.
    rbpf: rbpf::EbpfVmRaw<'a>,
    pub rbpf_jit: bool,
    cranelift: bool,
}

impl<'a> Engines<'a> {
    pub fn new(prog: &[RawInsn], bytes: &'a [u8]) -> Engines<'a> {
        let mut rbpf = rbpf::EbpfVmRaw::new(Some(bytes)).expect("rbpf verifies it");
        for (id, _, f, _) in suite::HELPERS {
            rbpf.register_helper(id, f).expect("rbpf registers it");
        }
        let rbpf_jit = rbpf_jit_compile(&mut rbpf);
        let cranelift = !has_local_calls(prog);
        if cranelift {
            rbpf.cranelift_compile().expect("Cranelift compiles it");
        }
        Engines {
            interp: Interpreter::new(prog.to_vec(), suite::helpers()).expect("verifies"),
            jit: Jit::new(prog.to_vec(), suite::helpers()).expect("compiles"),
            jit_budget: Jit::with_budget(
                prog.to_vec(),
                suite::helpers(),
                &patchjit::Options::default(),
                BUDGET,
            )
            .expect("compiles"),
            // SAFETY: run only through `run`, after `check` (see there).
            jit_unchecked: unsafe {
                Jit::unchecked(
                    prog.to_vec(),
                    suite::helpers(),
                    &patchjit::Options::default(),
                )
            }
            .expect("compiles"),
            rbpf,
            rbpf_jit,
            cranelift,
        }
    }

    pub fn takes(&self, engine: Engine) -> bool {
        match engine {
            Engine::RbpfJit => self.rbpf_jit,
            Engine::RbpfCranelift => self.cranelift,
            _ => true,
        }
    }

    pub fn run(&self, engine: Engine, mem: &mut [u8]) -> Result<u64, String> {
        match engine {
            Engine::PatchjitJit => self.jit.run(mem).map_err(|e| e.to_string()),
            Engine::PatchjitJitBudget => self.jit_budget.run(mem).map_err(|e| e.to_string()),
            Engine::PatchjitInterp => self.interp.run(mem).map_err(|e| e.to_string()),
            // patchjit's unchecked code and rbpf's JIT check no access (the unchecked code was
            // compiled for exactly this, see `Engines::new`).
            Engine::PatchjitJitUnchecked => self.jit_unchecked.run(mem).map_err(|e| e.to_string()),
            // SAFETY: rbpf's JIT checks no access. `check` runs patchjit's bounds-checking
            // interpreter on the same input first: the deterministic program stays inside its
            // input and its stack frames.
            Engine::RbpfJit => {
                unsafe { self.rbpf.execute_program_jit(mem) }.map_err(|e| e.to_string())
            }
            Engine::RbpfCranelift => self
                .rbpf
                .execute_program_cranelift(mem)
                .map_err(|e| e.to_string()),
            Engine::RbpfInterp => self.rbpf.execute_program(mem).map_err(|e| e.to_string()),
        }
    }

    /// Every engine that takes the program gives the interpreter's r0 and memory afterwards.
    pub fn check(&self, name: &str, input: &[u8]) {
        let mut want_mem = input.to_vec();
        let want = self.run(Engine::PatchjitInterp, &mut want_mem);
        assert!(want.is_ok(), "{name}: {want:?}");
        for engine in Engine::ALL.into_iter().filter(|&e| self.takes(e)) {
            let mut mem = input.to_vec();
            let got = self.run(engine, &mut mem);
            assert_eq!(
                (got, mem),
                (want.clone(), want_mem.clone()),
                "{name}: {} vs patchjit_interp",
                engine.name()
            );
        }
    }
}

/// Compiles `vm`'s program with rbpf's x86-64 JIT; false when the code outgrows the one
/// 4 KiB page that JIT writes into (it panics then).
pub fn rbpf_jit_compile(vm: &mut rbpf::EbpfVmRaw<'_>) -> bool {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.jit_compile()));
    std::panic::set_hook(quiet);
    match compiled {
        Ok(result) => {
            result.expect("rbpf's JIT compiles it");
            true
        }
        Err(_) => false,
    }
}

/// A run-time program: name, program, input, and instructions per run when known.
pub type TimedProgram = (String, Vec<RawInsn>, Vec<u8>, Option<u64>);

/// The run-time programs.
pub fn timed_programs() -> Vec<TimedProgram> {
    let ones = [1u8; 64];
    let mut all = Vec::new();
    for (name, src, per_iter, fixed) in [("arith_loop", ARITH, 6, 4), ("memory_loop", MEMORY, 7, 5)]
    {
        let prog = assemble(src).expect("bench program assembles");
        all.push((
            name.to_string(),
            prog,
            ones.to_vec(),
            Some(ITERS * per_iter + fixed),
        ));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/bpf/tests/programs");
    for file in suite::PROGRAMS {
        let prog = suite::compile(&dir, file).unwrap_or_else(|e| panic!("{e}"));
        let name = file.trim_end_matches(".c").trim_start_matches("bench_");
        all.push((name.to_string(), prog, suite::input(), None));
    }
    all
}

/// The fastest of `rounds` calls of each of `runs`, called in turn round after round.
pub fn fastest(rounds: usize, runs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; runs.len()];
    for _ in 0..rounds {
        for (run, best) in runs.iter_mut().zip(&mut best) {
            let start = Instant::now();
            run();
            *best = (*best).min(start.elapsed());
        }
    }
    best
}
