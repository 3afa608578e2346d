//! patchjit-bpf's interpreter and JIT (plain and with a budget) against rbpf 0.4.1's
//! interpreter, x86-64 JIT and Cranelift JIT, in one criterion run:
//!
//! - run time on the two loops of `crates/bpf/benches/programs.rs` and on the clang-compiled
//!   programs of `crates/bpf/tests/programs/` (`suite.rs` there), each run on a fresh copy of
//!   its input; before timing, every engine must give patchjit's interpreter's r0 and memory;
//! - compile time (verification included) of straight-line programs of 100, 1,000 and 10,000
//!   instructions, for each JIT and for the interpreters' setup (verification alone).
//!
//! Run from this directory: `cargo bench --bench engines`.
//!
//! What each engine checks: patchjit's tiers bound-check every load and store (a fault stops
//! the program with an error), the budgeted JIT also counts backward jumps and local calls;
//! rbpf's interpreter checks memory; its Cranelift JIT checks memory and traps (the process
//! dies: nothing handles the trap), takes no local calls and compares only the low 32 bits in
//! 64-bit conditional jumps (the check below keeps it to programs where that gives the right
//! result); its x86-64 JIT checks nothing and fits code into one 4 KiB page.

#[path = "../../../crates/bpf/benches/programs.rs"]
mod programs;
#[path = "../../../crates/bpf/tests/programs/suite.rs"]
mod suite;

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::{opcode, slots_to_bytes, RawInsn};
use patchjit_bpf::jit::Jit;
use patchjit_bpf::vm::Helpers;
use programs::{ARITH, ITERS, MEMORY};

/// Budget of the budgeted JIT: never reached by these programs, so that it costs what
/// counting costs.
const BUDGET: u64 = 1 << 40;

#[derive(Clone, Copy, Debug)]
enum Engine {
    PatchjitJit,
    PatchjitJitBudget,
    PatchjitJitUnchecked,
    PatchjitInterp,
    RbpfJit,
    RbpfCranelift,
    RbpfInterp,
}

impl Engine {
    const ALL: [Engine; 7] = [
        Engine::PatchjitJit,
        Engine::PatchjitJitBudget,
        Engine::PatchjitJitUnchecked,
        Engine::PatchjitInterp,
        Engine::RbpfJit,
        Engine::RbpfCranelift,
        Engine::RbpfInterp,
    ];

    fn name(self) -> &'static str {
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
struct Engines<'a> {
    interp: Interpreter,
    jit: Jit,
    jit_budget: Jit,
    /// No bounds checks, like rbpf's x86-64 JIT (run only after `check`, see `run`).
    jit_unchecked: Jit,
    /// rbpf's VM: its interpreter and, when they take the program, its x86-64 JIT and
    /// Cranelift.
    rbpf: rbpf::EbpfVmRaw<'a>,
    rbpf_jit: bool,
    cranelift: bool,
}

impl<'a> Engines<'a> {
    fn new(prog: &[RawInsn], bytes: &'a [u8]) -> Engines<'a> {
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

    fn takes(&self, engine: Engine) -> bool {
        match engine {
            Engine::RbpfJit => self.rbpf_jit,
            Engine::RbpfCranelift => self.cranelift,
            _ => true,
        }
    }

    fn run(&self, engine: Engine, mem: &mut [u8]) -> Result<u64, String> {
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
    fn check(&self, name: &str, input: &[u8]) {
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

/// Times `prog` on every engine that takes it, each run on a fresh copy of `input`;
/// `executed`: instructions per run when known (criterion then shows instructions per second).
fn bench(c: &mut Criterion, name: &str, prog: &[RawInsn], input: &[u8], executed: Option<u64>) {
    let bytes = slots_to_bytes(prog);
    let engines = Engines::new(prog, &bytes);
    engines.check(name, input);
    let mut g = c.benchmark_group(name);
    if let Some(n) = executed {
        g.throughput(Throughput::Elements(n));
    }
    let mut mem = input.to_vec();
    for engine in Engine::ALL.into_iter().filter(|&e| engines.takes(e)) {
        g.bench_function(engine.name(), |b| {
            b.iter(|| {
                mem.copy_from_slice(input);
                engines.run(engine, &mut mem).unwrap()
            })
        });
    }
    g.finish();
}

/// [`programs::straight_line`], assembled.
fn straight_line(n: usize) -> Vec<RawInsn> {
    assemble(&programs::straight_line(n)).expect("assembles")
}

/// Compiles `vm`'s program with rbpf's x86-64 JIT; false when the code outgrows the one
/// 4 KiB page that JIT writes into (it panics then).
fn rbpf_jit_compile(vm: &mut rbpf::EbpfVmRaw<'_>) -> bool {
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

/// Compile time, verification included on every side (rbpf's `new` runs its verifier and its
/// stack-usage pass); the compiled program is dropped outside the timing.
fn compile(c: &mut Criterion, n: usize) {
    let prog = straight_line(n);
    assert_eq!(prog.len(), n);
    let bytes = slots_to_bytes(&prog);
    // The compiled code is run once on each engine: what is timed must be right.
    let engines = Engines::new(&prog, &bytes);
    engines.check(&format!("compile_{n}"), &[0; 8]);
    let rbpf_jit = engines.rbpf_jit;
    if !rbpf_jit {
        eprintln!("compile_{n}: rbpf's x86-64 JIT cannot compile it (over its 4 KiB page)");
    }
    let arena = patchjit::Options {
        placement: patchjit::Placement::Arena(patchjit::Arena::new(64 << 20).unwrap()),
        ..patchjit::Options::default()
    };
    let heap = patchjit::Options {
        placement: patchjit::Placement::Heap(patchjit::CodeHeap::new(64 << 20).unwrap()),
        ..patchjit::Options::default()
    };
    let mut g = c.benchmark_group(format!("compile_{n}"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let batch = BatchSize::SmallInput;
    g.bench_function("patchjit_jit", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::new(p, Helpers::new()).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_jit_arena", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::with_options(p, Helpers::new(), &arena).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_jit_heap", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Jit::with_options(p, Helpers::new(), &heap).unwrap(),
            batch,
        )
    });
    g.bench_function("patchjit_interp", |b| {
        b.iter_batched(
            || prog.clone(),
            |p| Interpreter::new(p, Helpers::new()).unwrap(),
            batch,
        )
    });
    if rbpf_jit {
        g.bench_function("rbpf_jit", |b| {
            b.iter_with_large_drop(|| {
                let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
                vm.jit_compile().unwrap();
                vm
            })
        });
    }
    g.bench_function("rbpf_cranelift", |b| {
        b.iter_with_large_drop(|| {
            let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
            vm.cranelift_compile().unwrap();
            vm
        })
    });
    g.bench_function("rbpf_interp", |b| {
        b.iter_with_large_drop(|| rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap())
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let ones = [1u8; 64];
    for (name, src, per_iter, fixed) in [("arith_loop", ARITH, 6, 4), ("memory_loop", MEMORY, 7, 5)]
    {
        let prog = assemble(src).expect("bench program assembles");
        bench(c, name, &prog, &ones, Some(ITERS * per_iter + fixed));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/bpf/tests/programs");
    for file in suite::PROGRAMS {
        let prog = suite::compile(&dir, file).unwrap_or_else(|e| panic!("{e}"));
        let name = file.trim_end_matches(".c").trim_start_matches("bench_");
        bench(c, name, &prog, &suite::input(), None);
    }
    for n in [100, 1_000, 10_000] {
        compile(c, n);
    }
}

criterion_group!(engines, benches);
criterion_main!(engines);
