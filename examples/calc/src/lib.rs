//! calc: a tiny stack language, run by an interpreter or compiled to machine code by copying
//! and patching the stencils built from `templates/` (one template per operation).
//!
//! ```
//! use patchjit_example_calc::{Op, Program};
//! // 6 * 7
//! let program = Program::new(vec![Op::Push(6), Op::Push(7), Op::Mul, Op::Return], 0).unwrap();
//! assert_eq!(program.interpret(), Ok(42));
//! # #[cfg(target_arch = "x86_64")]
//! assert_eq!(program.compile().unwrap().run(), Ok(42));
//! ```

use std::fmt;

use patchjit::{Destination, Emitter, ExecutableCode, Instruction};

/// The generated table: `STENCILS` and one index constant per template (`ADD`, `PUSH`...).
pub mod stencils {
    include!(concat!(env!("OUT_DIR"), "/stencils.rs"));
}

/// One operation. Values are `i64` with wrapping arithmetic; comparisons push 0 or 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Push(i64),
    Add,
    Sub,
    Mul,
    /// Fails with [`CalcError::DivisionByZero`] or [`CalcError::Overflow`].
    Div,
    Lt,
    Eq,
    Dup,
    /// Pushes local variable `n`.
    Load(u16),
    /// Pops into local variable `n`.
    Store(u16),
    Jump(u32),
    /// Pops; jumps if the value was zero.
    JumpIfZero(u32),
    /// Replaces the top value by its integer square root (0 for negatives), computed by Rust.
    Isqrt,
    /// Stops with [`CalcError::Failed`] and this code.
    Fail(i64),
    /// Stops with the top value as the result.
    Return,
}

/// Why a program stopped without a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalcError {
    DivisionByZero,
    /// `i64::MIN / -1`.
    Overflow,
    Failed(i64),
}

/// `vm->error` codes set by `div.c`.
const DIVISION_BY_ZERO: i64 = -1;
const OVERFLOW: i64 = -2;

/// Why a program was refused before running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramError {
    /// Too few values on the stack for operation `at`.
    StackUnderflow { at: usize },
    /// Two paths reach `at` with different stack depths.
    InconsistentDepth { at: usize },
    /// A jump from `at` leaves the program.
    BadJump { at: usize },
    /// A local index out of range at `at`.
    BadLocal { at: usize },
    /// Execution can run past the last operation (from `at`).
    FallsOffEnd { at: usize },
    /// Fail codes must be positive (negative ones are the runtime errors').
    BadFailCode { at: usize },
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for ProgramError {}

/// A checked program: every path has a known stack depth, so the JIT code needs no checks.
#[derive(Clone, Debug)]
pub struct Program {
    ops: Vec<Op>,
    locals: usize,
    max_depth: usize,
}

impl Op {
    /// (values popped, values pushed).
    fn effect(self) -> (usize, usize) {
        match self {
            Op::Push(_) | Op::Load(_) => (0, 1),
            Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Lt | Op::Eq => (2, 1),
            Op::Dup => (1, 2),
            Op::Store(_) | Op::JumpIfZero(_) => (1, 0),
            Op::Jump(_) | Op::Fail(_) => (0, 0),
            Op::Isqrt => (1, 1),
            Op::Return => (1, 0),
        }
    }
}

impl Program {
    /// Checks `ops` (with `locals` local variables, all starting at zero).
    pub fn new(ops: Vec<Op>, locals: usize) -> Result<Program, ProgramError> {
        let mut depth: Vec<Option<usize>> = vec![None; ops.len()];
        let mut work = vec![(0usize, 0usize)];
        let mut max_depth = 0;
        while let Some((at, d)) = work.pop() {
            let Some(&op) = ops.get(at) else {
                return Err(ProgramError::FallsOffEnd {
                    at: at.saturating_sub(1),
                });
            };
            match depth[at] {
                Some(known) if known == d => continue,
                Some(_) => return Err(ProgramError::InconsistentDepth { at }),
                None => depth[at] = Some(d),
            }
            let (pop, push) = op.effect();
            if d < pop {
                return Err(ProgramError::StackUnderflow { at });
            }
            let next = d - pop + push;
            max_depth = max_depth.max(d.max(next));
            let jump = |target: u32| {
                if (target as usize) < ops.len() {
                    Ok(target as usize)
                } else {
                    Err(ProgramError::BadJump { at })
                }
            };
            match op {
                Op::Load(n) | Op::Store(n) if n as usize >= locals => {
                    return Err(ProgramError::BadLocal { at })
                }
                Op::Fail(code) if code <= 0 => return Err(ProgramError::BadFailCode { at }),
                Op::Jump(t) => work.push((jump(t)?, next)),
                Op::JumpIfZero(t) => {
                    work.push((jump(t)?, next));
                    work.push((at + 1, next));
                }
                Op::Fail(_) | Op::Return => {}
                _ => work.push((at + 1, next)),
            }
        }
        Ok(Program {
            ops,
            locals,
            max_depth,
        })
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Runs the program in a plain `match` loop (the reference the JIT is tested against).
    pub fn interpret(&self) -> Result<i64, CalcError> {
        let mut locals = vec![0i64; self.locals];
        let mut stack: Vec<i64> = Vec::with_capacity(self.max_depth);
        let mut pc = 0;
        loop {
            let op = self.ops[pc];
            pc += 1;
            let mut binary = |f: fn(i64, i64) -> Result<i64, CalcError>| {
                let b = stack.pop().expect("checked depth");
                let a = stack.pop().expect("checked depth");
                stack.push(f(a, b)?);
                Ok(())
            };
            match op {
                Op::Push(v) => stack.push(v),
                Op::Add => binary(|a, b| Ok(a.wrapping_add(b)))?,
                Op::Sub => binary(|a, b| Ok(a.wrapping_sub(b)))?,
                Op::Mul => binary(|a, b| Ok(a.wrapping_mul(b)))?,
                Op::Div => binary(|a, b| match (a, b) {
                    (_, 0) => Err(CalcError::DivisionByZero),
                    (i64::MIN, -1) => Err(CalcError::Overflow),
                    _ => Ok(a / b),
                })?,
                Op::Lt => binary(|a, b| Ok((a < b) as i64))?,
                Op::Eq => binary(|a, b| Ok((a == b) as i64))?,
                Op::Dup => stack.push(*stack.last().expect("checked depth")),
                Op::Load(n) => stack.push(locals[n as usize]),
                Op::Store(n) => locals[n as usize] = stack.pop().expect("checked depth"),
                Op::Jump(t) => pc = t as usize,
                Op::JumpIfZero(t) => {
                    if stack.pop().expect("checked depth") == 0 {
                        pc = t as usize;
                    }
                }
                Op::Isqrt => {
                    let top = stack.last_mut().expect("checked depth");
                    *top = calc_isqrt(*top);
                }
                Op::Fail(code) => return Err(CalcError::Failed(code)),
                Op::Return => return Ok(stack.pop().expect("checked depth")),
            }
        }
    }

    /// Compiles the program to machine code: one stencil per operation, then the error exit
    /// `Div` branches to after recording its error.
    pub fn compile(&self) -> Result<Compiled, patchjit::EmitError> {
        use stencils as s;
        let mut emitter = Emitter::new(
            &s::STENCILS,
            &[("calc_isqrt", calc_isqrt as *const () as usize)],
        )?;
        emitter.set_shim(s::SHIM)?;
        emitter.reserve(self.ops.len() + 1)?;
        let error_exit = Destination::Instruction(self.ops.len() as u32);
        for &op in &self.ops {
            let (group, oparg, operand0, jump) = match op {
                Op::Push(v) => (s::PUSH, 0, v as u64, None),
                Op::Add => (s::ADD, 0, 0, None),
                Op::Sub => (s::SUB, 0, 0, None),
                Op::Mul => (s::MUL, 0, 0, None),
                Op::Div => (s::DIV, 0, 0, None),
                Op::Lt => (s::LT, 0, 0, None),
                Op::Eq => (s::EQ, 0, 0, None),
                Op::Dup => (s::DUP, 0, 0, None),
                Op::Load(i) => (s::LOAD, i as u64, 0, None),
                Op::Store(i) => (s::STORE, i as u64, 0, None),
                Op::Jump(t) => (s::JUMP, 0, 0, Some(t)),
                Op::JumpIfZero(t) => (s::JUMP_IF_ZERO, 0, 0, Some(t)),
                Op::Isqrt => (s::ISQRT, 0, 0, None),
                Op::Fail(code) => (s::FAIL, 0, code as u64, None),
                Op::Return => (s::RET, 0, 0, None),
            };
            emitter.push(Instruction {
                oparg,
                operand0,
                jump_target: jump.map(Destination::Instruction),
                // Only `Div` can fail; its holes need a destination (the others ignore it).
                error_target: (op == Op::Div).then_some(error_exit),
                ..Instruction::new(group)
            })?;
        }
        emitter.push(Instruction::new(s::ERROR_EXIT))?;
        let code = emitter.finish(&patchjit::Options::default())?;
        Ok(Compiled {
            code,
            locals: self.locals,
            max_depth: self.max_depth,
        })
    }
}

/// The integer square root (0 for negatives); the runtime helper `isqrt.c` calls.
pub extern "C" fn calc_isqrt(x: i64) -> i64 {
    if x <= 0 {
        return 0;
    }
    let mut r = (x as f64).sqrt() as i64;
    while r.checked_mul(r).is_none_or(|sq| sq > x) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= x) {
        r += 1;
    }
    r
}

/// The VM state the stencils see (`Calc` in `templates/calc.h`).
#[repr(C)]
struct Calc {
    locals: *mut i64,
    error: i64,
}

/// A program in executable memory.
pub struct Compiled {
    code: ExecutableCode,
    locals: usize,
    max_depth: usize,
}

impl Compiled {
    /// Runs the machine code once (fresh locals and stack).
    pub fn run(&self) -> Result<i64, CalcError> {
        let mut locals = vec![0i64; self.locals.max(1)];
        let mut stack = vec![0i64; self.max_depth.max(1)];
        let mut vm = Calc {
            locals: locals.as_mut_ptr(),
            error: 0,
        };
        // SAFETY: the shim is `int64_t _JIT_ENTRY(Calc *, int64_t *)` with the C ABI; `self`
        // outlives the call; the program was checked, so it stays within `max_depth` stack
        // slots and `locals` local variables.
        let result = unsafe {
            let entry: extern "C" fn(*mut Calc, *mut i64) -> i64 = self.code.entry();
            entry(&mut vm, stack.as_mut_ptr())
        };
        match vm.error {
            0 => Ok(result),
            DIVISION_BY_ZERO => Err(CalcError::DivisionByZero),
            OVERFLOW => Err(CalcError::Overflow),
            code => Err(CalcError::Failed(code)),
        }
    }
}

/// Example programs shared by the demo binary and the tests.
pub mod programs {
    use super::Op::{self, *};

    /// `n!` by a counting loop (locals: 0 = n, 1 = acc); wraps on overflow like the `mul` it uses.
    pub fn factorial(n: i64) -> Vec<Op> {
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

    /// Sum of isqrt(i) for i in 1..=n (locals: 0 = i, 1 = sum): a loop calling the Rust helper.
    pub fn isqrt_sum(n: i64) -> Vec<Op> {
        vec![
            Push(n),
            Store(0),
            Push(0),
            Store(1),
            Load(0), // 4: loop head
            JumpIfZero(16),
            Load(1),
            Load(0),
            Isqrt,
            Add,
            Store(1),
            Load(0),
            Push(1),
            Sub,
            Store(0),
            Jump(4),
            Load(1), // 16: exit
            Return,
        ]
    }
}
