//! Experiment: how much a program's speed depends on where its code starts within its page.
//! Each program is compiled (unchecked) with 0..N leading `mov r0, 0` (2 bytes each on
//! x86-64), which shifts all of its code; each shift is timed against rbpf's JIT, interleaved.
//!
//! `cargo bench --bench placement -- ROUNDS SHIFTS` (default 2000, 32); built with
//! `--features disassemble` and run with `DUMP=1`, it lists each program's code first.

mod shared;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::isa::{slots_to_bytes, RawInsn};
use patchjit_bpf::jit::Jit;
use shared::{fastest, suite, timed_programs, Engine, Engines};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let shifts: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(32);
    let mov = assemble("mov %r0, 0").unwrap()[0];
    for (name, prog, input, _) in timed_programs() {
        let bytes = slots_to_bytes(&prog);
        let engines = Engines::new(&prog, &bytes);
        if !engines.takes(Engine::RbpfJit) {
            continue;
        }
        engines.check(&name, &input);
        let jits: Vec<Jit> = (0..shifts)
            .map(|n| {
                let shifted: Vec<RawInsn> = std::iter::repeat_n(mov, n)
                    .chain(prog.iter().copied())
                    .collect();
                // SAFETY: the same program as `engines` checked, run on the same input.
                unsafe { Jit::unchecked(shifted, suite::helpers(), &patchjit::Options::default()) }
                    .unwrap()
            })
            .collect();
        #[cfg(feature = "disassemble")]
        if std::env::var_os("DUMP").is_some() {
            println!("{name}:\n{}", jits[0].disassemble());
        }
        let mut mems: Vec<Vec<u8>> = (0..=shifts).map(|_| input.clone()).collect();
        let (engines, input) = (&engines, &input);
        let mut closures: Vec<Box<dyn FnMut() + '_>> = mems
            .iter_mut()
            .enumerate()
            .map(|(k, mem)| {
                let jit = jits.get(k);
                Box::new(move || {
                    mem.copy_from_slice(input);
                    match jit {
                        Some(jit) => jit.run(mem).map(drop).unwrap(),
                        None => engines.run(Engine::RbpfJit, mem).map(drop).unwrap(),
                    }
                }) as Box<dyn FnMut()>
            })
            .collect();
        let mut runs: Vec<&mut dyn FnMut()> = closures.iter_mut().map(|c| &mut **c as _).collect();
        let best = fastest(rounds, &mut runs);
        let rbpf = best[shifts].as_secs_f64();
        let ratios: Vec<String> = best[..shifts]
            .iter()
            .map(|b| format!("{:.2}", b.as_secs_f64() / rbpf))
            .collect();
        println!(
            "{name} (rbpf JIT {:.1} µs): {}",
            rbpf * 1e6,
            ratios.join(" ")
        );
    }
}
