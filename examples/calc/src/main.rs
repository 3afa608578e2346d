//! The README's demo: compile a few stack-language programs to machine code with the committed
//! stencil tables (no clang needed), run them, and check each against the interpreter.

use std::time::Instant;

use patchjit_example_calc::programs::{factorial, isqrt_sum};
use patchjit_example_calc::{Op, Program};

fn main() {
    let programs = [
        ("20!", factorial(20)),
        ("21! (wrapping multiply)", factorial(21)),
        ("sum of isqrt(1..=1000000)", isqrt_sum(1_000_000)),
        ("7 / (3 - 3) (error exit)", {
            use Op::*;
            vec![Push(7), Push(3), Push(3), Sub, Div, Return]
        }),
    ];
    let mut mismatches = 0;
    for (name, ops) in programs {
        let program = match Program::new(ops, 2) {
            Ok(program) => program,
            Err(error) => {
                eprintln!("{name}: invalid program: {error:?}");
                std::process::exit(1);
            }
        };
        let start = Instant::now();
        let compiled = match program.compile() {
            Ok(compiled) => compiled,
            Err(error) => {
                eprintln!("{name}: JIT compilation failed: {error}");
                std::process::exit(1);
            }
        };
        let compile_time = start.elapsed();
        let start = Instant::now();
        let jitted = compiled.run();
        let jit_time = start.elapsed();
        let start = Instant::now();
        let interpreted = program.interpret();
        let interp_time = start.elapsed();
        let agree = jitted == interpreted;
        mismatches += usize::from(!agree);
        println!(
            "{name:<30} jit {jitted:?} in {jit_time:?} (compiled {} ops in {compile_time:?}); \
             interpreter {interpreted:?} in {interp_time:?}{}",
            program.ops().len(),
            if agree { "" } else { "  MISMATCH" }
        );
    }
    if mismatches > 0 {
        std::process::exit(1);
    }
}
