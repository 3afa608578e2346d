//! The README's demo: compile a few stack-language programs to machine code with the committed
//! stencil tables (no clang needed), run them, and check each against the interpreter.

use std::time::Instant;

use patchjit_example_calc::{Op, Program};

/// Sum of isqrt(i) for i in 1..=n, a loop that calls the Rust helper on every iteration.
fn isqrt_sum(n: i64) -> Vec<Op> {
    use Op::*;
    vec![
        Push(n),
        Store(0), // i = n
        Push(0),
        Store(1), // sum = 0
        Load(0),  // 4: loop head
        JumpIfZero(16),
        Load(1),
        Load(0),
        Isqrt,
        Add,
        Store(1), // sum += isqrt(i)
        Load(0),
        Push(1),
        Sub,
        Store(0), // i -= 1
        Jump(4),
        Load(1), // 16: exit
        Return,
    ]
}

/// `n!` by a counting loop.
fn factorial(n: i64) -> Vec<Op> {
    use Op::*;
    vec![
        Push(n),
        Store(0),
        Push(1),
        Store(1),
        Load(0), // 4: loop head
        JumpIfZero(15),
        Load(1),
        Load(0),
        Mul,
        Store(1),
        Load(0),
        Push(1),
        Sub,
        Store(0),
        Jump(4),
        Load(1), // 15: exit
        Return,
    ]
}

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
