//! The JIT-compiled program computes what the interpreter computes: hand-written programs
//! (loops, errors, the Rust helper) and many random well-formed ones.
#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use patchjit_example_calc::programs::factorial;
use patchjit_example_calc::{CalcError, Op, Program};

fn both(ops: Vec<Op>, locals: usize) -> Result<i64, CalcError> {
    let program = Program::new(ops, locals).unwrap();
    let interpreted = program.interpret();
    let jitted = program.compile().unwrap().run();
    assert_eq!(jitted, interpreted, "{:?}", program.ops());
    jitted
}

#[test]
fn loops() {
    assert_eq!(both(factorial(0), 2), Ok(1));
    assert_eq!(both(factorial(10), 2), Ok(3_628_800));
    assert_eq!(both(factorial(25), 2), Ok(7_034_535_277_573_963_776)); // wraps
}

#[test]
fn arithmetic_comparisons_and_helper() {
    use Op::*;
    assert_eq!(both(vec![Push(6), Push(7), Mul, Return], 0), Ok(42));
    assert_eq!(both(vec![Push(-7), Push(2), Div, Return], 0), Ok(-3));
    assert_eq!(
        both(
            vec![Push(3), Push(5), Lt, Push(4), Push(4), Eq, Add, Return],
            0
        ),
        Ok(2)
    );
    assert_eq!(both(vec![Push(1 << 40), Isqrt, Return], 0), Ok(1 << 20));
    assert_eq!(both(vec![Push(99), Isqrt, Dup, Add, Return], 0), Ok(18));
    assert_eq!(
        both(vec![Push(i64::MAX), Push(1), Add, Return], 0),
        Ok(i64::MIN)
    );
}

#[test]
fn errors() {
    use Op::*;
    assert_eq!(
        both(vec![Push(1), Push(0), Div, Return], 0),
        Err(CalcError::DivisionByZero)
    );
    assert_eq!(
        both(vec![Push(i64::MIN), Push(-1), Div, Return], 0),
        Err(CalcError::Overflow)
    );
    assert_eq!(
        both(vec![Push(1), JumpIfZero(3), Fail(7), Push(0), Return], 0),
        Err(CalcError::Failed(7))
    );
}

#[test]
fn bad_programs_are_refused() {
    use patchjit_example_calc::ProgramError as E;
    use Op::*;
    assert_eq!(
        Program::new(vec![Add, Return], 0).unwrap_err(),
        E::StackUnderflow { at: 0 }
    );
    assert_eq!(
        Program::new(vec![Push(1)], 0).unwrap_err(),
        E::FallsOffEnd { at: 0 }
    );
    assert_eq!(
        Program::new(vec![Jump(5)], 0).unwrap_err(),
        E::BadJump { at: 0 }
    );
    assert_eq!(
        Program::new(vec![Load(0), Return], 0).unwrap_err(),
        E::BadLocal { at: 0 }
    );
    assert_eq!(
        Program::new(vec![Push(0), JumpIfZero(3), Push(1), Push(2), Return], 0).unwrap_err(),
        E::InconsistentDepth { at: 3 }
    );
}

/// xorshift64*: deterministic random programs without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random straight-line computation with forward branches that keep the depth consistent,
/// plus a counted loop around it.
fn random_program(rng: &mut Rng) -> Vec<Op> {
    use Op::*;
    let mut ops = vec![Push(rng.below(5) as i64 + 1), Store(0)]; // loop counter
    let body_start = ops.len() as u32;
    let mut depth = 0;
    for _ in 0..rng.below(30) + 1 {
        let choice = rng.below(12);
        match (choice, depth) {
            (0..=2, _) | (_, 0) => {
                let v = match rng.below(4) {
                    0 => rng.next() as i64,
                    1 => rng.below(5) as i64 - 2,
                    _ => rng.below(1000) as i64,
                };
                ops.push(Push(v));
                depth += 1;
            }
            (3, _) => {
                ops.push(Load(rng.below(3) as u16 + 1));
                depth += 1;
            }
            (4, _) => {
                ops.push(Dup);
                depth += 1;
            }
            (5, _) => {
                ops.push(Isqrt);
            }
            (6, _) => {
                ops.push(Store(rng.below(3) as u16 + 1));
                depth -= 1;
            }
            (7, _) => {
                // if top == 0 skip a push+pop pair (depth-neutral)
                let at = ops.len() as u32;
                ops.extend([JumpIfZero(at + 3), Push(rng.below(9) as i64), Store(3)]);
                depth -= 1;
            }
            (_, 1) => {
                ops.push(Dup);
                depth += 1;
            }
            (c, _) => {
                ops.push(
                    [Add, Sub, Mul, Div, Lt, Eq][(c as usize - 8 + rng.below(3) as usize) % 6],
                );
                depth -= 1;
            }
        }
    }
    for _ in 0..depth {
        ops.push(Store(rng.below(3) as u16 + 1));
    }
    // counter -= 1; if counter != 0 goto body
    let at = ops.len() as u32;
    ops.extend([
        Load(0),
        Push(1),
        Sub,
        Dup,
        Store(0),
        JumpIfZero(at + 7),
        Jump(body_start),
    ]);
    ops.extend([Load(1), Load(2), Add, Load(3), Mul, Return]);
    ops
}

#[test]
fn random_programs_agree_with_the_interpreter() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut outcomes = [0usize; 2];
    for _ in 0..300 {
        let ops = random_program(&mut rng);
        let result = both(ops, 4);
        outcomes[result.is_ok() as usize] += 1;
    }
    // Both paths are exercised.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
