//! The engines of `engines.rs` timed by the fastest of many runs, interleaved: one run of each
//! engine in turn, round after round, so that every engine sees the same machine load, and the
//! minimum per engine, which a busy shared machine inflates least (a run is far shorter than a
//! scheduler time slice, so most rounds have an undisturbed run of each). Prints, per program,
//! the ratios issue #11 sets targets for, their geometric means, and compile time of the
//! 1,000-instruction straight-line program (verification included) against rbpf's JIT.
//!
//! Run from this directory: `cargo bench --bench minimum` (`-- ROUNDS`, default 2000; add
//! `compile` to time only the compile comparison).

mod shared;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::isa::slots_to_bytes;
use patchjit_bpf::jit::Jit;
use patchjit_bpf::vm::Helpers;
use shared::{fastest, programs, timed_programs, Engine, Engines};

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let compile_only = std::env::args().skip(1).any(|a| a == "compile");
    let pairs = [
        (Engine::PatchjitJit, Engine::RbpfCranelift),
        (Engine::PatchjitJitUnchecked, Engine::RbpfJit),
        (Engine::PatchjitJit, Engine::RbpfJit),
    ];
    println!(
        "| program | {} |",
        pairs
            .map(|(a, b)| format!("{} / {}", a.name(), b.name()))
            .join(" | ")
    );
    let mut logs = vec![Vec::new(); pairs.len()];
    let timed = if compile_only {
        Vec::new()
    } else {
        timed_programs()
    };
    for (name, prog, input, _) in timed {
        let bytes = slots_to_bytes(&prog);
        let engines = Engines::new(&prog, &bytes);
        engines.check(&name, &input);
        let taken: Vec<Engine> = Engine::ALL
            .into_iter()
            .filter(|&e| {
                engines.takes(e) && !matches!(e, Engine::PatchjitInterp | Engine::RbpfInterp)
            })
            .collect();
        let mut mems: Vec<Vec<u8>> = taken.iter().map(|_| input.clone()).collect();
        let mut closures: Vec<Box<dyn FnMut() + '_>> = taken
            .iter()
            .zip(&mut mems)
            .map(|(&e, mem)| {
                let (engines, input) = (&engines, &input);
                Box::new(move || {
                    mem.copy_from_slice(input);
                    engines.run(e, mem).unwrap();
                }) as Box<dyn FnMut()>
            })
            .collect();
        let mut runs: Vec<&mut dyn FnMut()> = closures.iter_mut().map(|c| &mut **c as _).collect();
        let best = fastest(rounds, &mut runs);
        let time = |e: Engine| {
            taken
                .iter()
                .position(|&t| t.name() == e.name())
                .map(|i| best[i])
        };
        let cells: Vec<String> = pairs
            .iter()
            .zip(&mut logs)
            .map(|(&(a, b), log)| match (time(a), time(b)) {
                (Some(a), Some(b)) => {
                    let r = a.as_secs_f64() / b.as_secs_f64();
                    log.push(r.ln());
                    format!("{r:.2}")
                }
                _ => "—".into(),
            })
            .collect();
        println!("| `{name}` | {} |", cells.join(" | "));
    }
    let means: Vec<String> = logs
        .iter()
        .map(|l| {
            format!(
                "**{:.2}** ({})",
                (l.iter().sum::<f64>() / l.len() as f64).exp(),
                l.len()
            )
        })
        .collect();
    if !compile_only {
        println!("| **geometric mean** | {} |", means.join(" | "));
    }

    let prog = assemble(&programs::straight_line(1000)).expect("assembles");
    let bytes = slots_to_bytes(&prog);
    let mut patchjit = || drop(Jit::new(prog.clone(), Helpers::new()).unwrap());
    let mut rbpf = || {
        let mut vm = rbpf::EbpfVmRaw::new(Some(&bytes)).unwrap();
        vm.jit_compile().unwrap();
    };
    let best = fastest(rounds / 4, &mut [&mut patchjit, &mut rbpf]);
    println!(
        "compile, 1,000 instructions: patchjit JIT {:.1} µs, rbpf JIT {:.1} µs, ratio {:.2}",
        best[0].as_secs_f64() * 1e6,
        best[1].as_secs_f64() * 1e6,
        best[0].as_secs_f64() / best[1].as_secs_f64()
    );
}
