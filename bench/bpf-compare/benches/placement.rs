//! Experiment: how much a program's speed depends on where its code starts within its page.
//! Each program is compiled (unchecked) with 0..N leading `mov r0, 0` (2 bytes each on
//! x86-64), which shifts all of its code; each shift is timed against rbpf's JIT, interleaved.
//!
//! `cargo bench --bench placement -- ROUNDS SHIFTS` (default 2000, 32); built with
//! `--features disassemble` and run with `DUMP=1`, it lists each program's code first.

mod shared;

use std::time::{Duration, Instant};

use patchjit_bpf::asm::assemble;
use patchjit_bpf::isa::{slots_to_bytes, RawInsn};
use patchjit_bpf::jit::Jit;
use shared::{suite, timed_programs, Engine, Engines};

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
        let mut best = vec![Duration::MAX; shifts + 1];
        let mut mem = input.clone();
        for _ in 0..rounds {
            for (k, best) in best.iter_mut().enumerate() {
                mem.copy_from_slice(&input);
                let start = Instant::now();
                if k == shifts {
                    engines.run(Engine::RbpfJit, &mut mem).unwrap();
                } else {
                    jits[k].run(&mut mem).unwrap();
                }
                *best = (*best).min(start.elapsed());
            }
        }
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
