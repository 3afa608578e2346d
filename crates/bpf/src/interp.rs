//! The interpreter tier: a dispatch loop over raw slots with every memory access
//! checked against the input region and the stack (conventions in [`crate::vm`]).

use crate::isa::{opcode as op, RawInsn};
use crate::verifier::{verify, VerifyError};
use crate::vm::{ExecError, Helpers, Memory, MAX_CALL_DEPTH, STACK_SIZE};

#[derive(Clone, Copy, Default)]
struct Frame {
    ret_pc: usize,
    saved: [u64; 4],
}

/// A verified program ready to run on the interpreter.
pub struct Interpreter {
    prog: Vec<RawInsn>,
    helpers: Helpers,
    budget: Option<u64>,
}

impl Interpreter {
    /// Verifies `prog` and prepares it for running with `helpers`.
    pub fn new(prog: Vec<RawInsn>, helpers: Helpers) -> Result<Self, VerifyError> {
        verify(&prog)?;
        Ok(Interpreter {
            prog,
            helpers,
            budget: None,
        })
    }

    /// Limits every run to `budget` taken backward jumps and local calls (`None`: unlimited),
    /// so that no program can run forever: without them a verified program ends after at most
    /// its own length in instructions per call. The JIT tier counts the same events
    /// ([`crate::jit::Jit::with_budget`]), so both tiers stop at the same instruction.
    pub fn set_budget(&mut self, budget: Option<u64>) {
        self.budget = budget;
    }

    /// The verified program.
    pub fn program(&self) -> &[RawInsn] {
        &self.prog
    }

    /// Runs the program with `input` as its memory; returns r0 at the final `exit`.
    pub fn run(&self, input: &mut [u8]) -> Result<u64, ExecError> {
        let mut stack = vec![0u8; STACK_SIZE * MAX_CALL_DEPTH];
        let mut mem = Memory::new(input, &mut stack);
        match self.budget {
            Some(b) => self.execute::<true>(&mut mem, b),
            None => self.execute::<false>(&mut mem, 0),
        }
    }

    /// The dispatch loop; `METERED` selects the budget-counting variant at compile time.
    fn execute<const METERED: bool>(
        &self,
        mem: &mut Memory<'_>,
        mut budget: u64,
    ) -> Result<u64, ExecError> {
        let prog = &self.prog[..];
        // 16 entries so that a masked register nibble indexes without a bounds check.
        let mut r = [0u64; 16];
        // No input is a null pointer, as in uBPF and the kernel (not a dangling one).
        r[1] = if mem.input.is_empty() {
            0
        } else {
            mem.input_base
        };
        r[2] = mem.input.len() as u64;
        r[10] = mem.stack_base + mem.stack.len() as u64;
        let mut frames = [Frame::default(); MAX_CALL_DEPTH];
        let mut depth = 0usize;
        let mut pc = 0usize;

        loop {
            let Some(&i) = prog.get(pc) else {
                return Err(ExecError::PcOutOfRange { pc });
            };
            let cur = pc;
            pc += 1;
            let d = (i.dst & 0xf) as usize;
            let s = (i.src & 0xf) as usize;
            let imm = i.imm as i64 as u64;
            let immu = i.imm as u32;
            let off = i.off as i64 as u64;
            // One unit of the budget, for a taken back-edge or a local call.
            macro_rules! tick {
                () => {
                    if METERED {
                        if budget == 0 {
                            return Err(ExecError::BudgetExhausted { pc: cur });
                        }
                        budget -= 1;
                    }
                };
            }
            macro_rules! goto {
                ($delta:expr) => {
                    pc = (pc as i64 + $delta as i64) as usize;
                    if pc <= cur {
                        tick!();
                    }
                };
            }
            macro_rules! jump {
                ($cond:expr) => {
                    if $cond {
                        goto!(i.off);
                    }
                };
            }
            match i.opcode {
                // ALU64, immediate then register operand.
                op::ADD64_IMM => r[d] = r[d].wrapping_add(imm),
                op::ADD64_REG => r[d] = r[d].wrapping_add(r[s]),
                op::SUB64_IMM => r[d] = r[d].wrapping_sub(imm),
                op::SUB64_REG => r[d] = r[d].wrapping_sub(r[s]),
                op::MUL64_IMM => r[d] = r[d].wrapping_mul(imm),
                op::MUL64_REG => r[d] = r[d].wrapping_mul(r[s]),
                op::DIV64_IMM | op::DIV64_REG => {
                    let v = if i.opcode == op::DIV64_IMM { imm } else { r[s] };
                    r[d] = match (i.off, v) {
                        (_, 0) => 0,
                        (0, v) => r[d] / v,
                        (_, v) => (r[d] as i64).wrapping_div(v as i64) as u64,
                    };
                }
                op::OR64_IMM => r[d] |= imm,
                op::OR64_REG => r[d] |= r[s],
                op::AND64_IMM => r[d] &= imm,
                op::AND64_REG => r[d] &= r[s],
                op::LSH64_IMM => r[d] <<= imm & 63,
                op::LSH64_REG => r[d] <<= r[s] & 63,
                op::RSH64_IMM => r[d] >>= imm & 63,
                op::RSH64_REG => r[d] >>= r[s] & 63,
                op::NEG64 => r[d] = r[d].wrapping_neg(),
                op::MOD64_IMM | op::MOD64_REG => {
                    let v = if i.opcode == op::MOD64_IMM { imm } else { r[s] };
                    r[d] = match (i.off, v) {
                        (_, 0) => r[d],
                        (0, v) => r[d] % v,
                        (_, v) => (r[d] as i64).wrapping_rem(v as i64) as u64,
                    };
                }
                op::XOR64_IMM => r[d] ^= imm,
                op::XOR64_REG => r[d] ^= r[s],
                op::MOV64_IMM => r[d] = imm,
                op::MOV64_REG => {
                    r[d] = match i.off {
                        8 => r[s] as i8 as i64 as u64,
                        16 => r[s] as i16 as i64 as u64,
                        32 => r[s] as i32 as i64 as u64,
                        _ => r[s],
                    }
                }
                op::ARSH64_IMM => r[d] = ((r[d] as i64) >> (imm & 63)) as u64,
                op::ARSH64_REG => r[d] = ((r[d] as i64) >> (r[s] & 63)) as u64,
                op::BSWAP => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).swap_bytes() as u64,
                        32 => (r[d] as u32).swap_bytes() as u64,
                        _ => r[d].swap_bytes(),
                    }
                }

                // ALU32: operate on the low halves, zero-extend the result.
                op::ADD32_IMM => r[d] = (r[d] as u32).wrapping_add(immu) as u64,
                op::ADD32_REG => r[d] = (r[d] as u32).wrapping_add(r[s] as u32) as u64,
                op::SUB32_IMM => r[d] = (r[d] as u32).wrapping_sub(immu) as u64,
                op::SUB32_REG => r[d] = (r[d] as u32).wrapping_sub(r[s] as u32) as u64,
                op::MUL32_IMM => r[d] = (r[d] as u32).wrapping_mul(immu) as u64,
                op::MUL32_REG => r[d] = (r[d] as u32).wrapping_mul(r[s] as u32) as u64,
                op::DIV32_IMM | op::DIV32_REG => {
                    let v = if i.opcode == op::DIV32_IMM {
                        immu
                    } else {
                        r[s] as u32
                    };
                    let a = r[d] as u32;
                    r[d] = match (i.off, v) {
                        (_, 0) => 0,
                        (0, v) => (a / v) as u64,
                        (_, v) => (a as i32).wrapping_div(v as i32) as u32 as u64,
                    };
                }
                op::OR32_IMM => r[d] = (r[d] as u32 | immu) as u64,
                op::OR32_REG => r[d] = (r[d] as u32 | r[s] as u32) as u64,
                op::AND32_IMM => r[d] = (r[d] as u32 & immu) as u64,
                op::AND32_REG => r[d] = (r[d] as u32 & r[s] as u32) as u64,
                op::LSH32_IMM => r[d] = ((r[d] as u32) << (immu & 31)) as u64,
                op::LSH32_REG => r[d] = ((r[d] as u32) << (r[s] & 31)) as u64,
                op::RSH32_IMM => r[d] = ((r[d] as u32) >> (immu & 31)) as u64,
                op::RSH32_REG => r[d] = ((r[d] as u32) >> (r[s] & 31)) as u64,
                op::NEG32 => r[d] = (r[d] as u32).wrapping_neg() as u64,
                op::MOD32_IMM | op::MOD32_REG => {
                    let v = if i.opcode == op::MOD32_IMM {
                        immu
                    } else {
                        r[s] as u32
                    };
                    let a = r[d] as u32;
                    r[d] = match (i.off, v) {
                        (_, 0) => a as u64,
                        (0, v) => (a % v) as u64,
                        (_, v) => (a as i32).wrapping_rem(v as i32) as u32 as u64,
                    };
                }
                op::XOR32_IMM => r[d] = (r[d] as u32 ^ immu) as u64,
                op::XOR32_REG => r[d] = (r[d] as u32 ^ r[s] as u32) as u64,
                op::MOV32_IMM => r[d] = immu as u64,
                op::MOV32_REG => {
                    r[d] = match i.off {
                        8 => r[s] as i8 as i32 as u32 as u64,
                        16 => r[s] as i16 as i32 as u32 as u64,
                        _ => r[s] as u32 as u64,
                    }
                }
                op::ARSH32_IMM => r[d] = ((r[d] as u32 as i32) >> (immu & 31)) as u32 as u64,
                op::ARSH32_REG => r[d] = ((r[d] as u32 as i32) >> (r[s] & 31)) as u32 as u64,
                op::LE => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).to_le() as u64,
                        32 => (r[d] as u32).to_le() as u64,
                        _ => r[d].to_le(),
                    }
                }
                op::BE => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).to_be() as u64,
                        32 => (r[d] as u32).to_be() as u64,
                        _ => r[d].to_be(),
                    }
                }

                // lddw
                op::LDDW => {
                    let Some(hi) = prog.get(pc) else {
                        return Err(ExecError::PcOutOfRange { pc });
                    };
                    r[d] = (immu as u64) | ((hi.imm as u32 as u64) << 32);
                    pc += 1;
                }

                // Loads.
                op::LDX_B => r[d] = mem.load(cur, r[s].wrapping_add(off), 1)?,
                op::LDX_H => r[d] = mem.load(cur, r[s].wrapping_add(off), 2)?,
                op::LDX_W => r[d] = mem.load(cur, r[s].wrapping_add(off), 4)?,
                op::LDX_DW => r[d] = mem.load(cur, r[s].wrapping_add(off), 8)?,
                op::LDXS_B => r[d] = mem.load(cur, r[s].wrapping_add(off), 1)? as i8 as i64 as u64,
                op::LDXS_H => r[d] = mem.load(cur, r[s].wrapping_add(off), 2)? as i16 as i64 as u64,
                op::LDXS_W => r[d] = mem.load(cur, r[s].wrapping_add(off), 4)? as i32 as i64 as u64,

                // Stores.
                op::ST_B => mem.store(cur, r[d].wrapping_add(off), 1, imm)?,
                op::ST_H => mem.store(cur, r[d].wrapping_add(off), 2, imm)?,
                op::ST_W => mem.store(cur, r[d].wrapping_add(off), 4, imm)?,
                op::ST_DW => mem.store(cur, r[d].wrapping_add(off), 8, imm)?,
                op::STX_B => mem.store(cur, r[d].wrapping_add(off), 1, r[s])?,
                op::STX_H => mem.store(cur, r[d].wrapping_add(off), 2, r[s])?,
                op::STX_W => mem.store(cur, r[d].wrapping_add(off), 4, r[s])?,
                op::STX_DW => mem.store(cur, r[d].wrapping_add(off), 8, r[s])?,

                // Atomics (the interpreter is single-threaded: plain read-modify-write).
                op::ATOMIC32 | op::ATOMIC64 => {
                    let size = if i.opcode == op::ATOMIC32 { 4 } else { 8 };
                    let mask = if size == 4 { u32::MAX as u64 } else { u64::MAX };
                    let addr = r[d].wrapping_add(off);
                    let old = mem.load(cur, addr, size)?;
                    let v = r[s] & mask;
                    let fetch = i.imm & 1 != 0;
                    let new = match i.imm & !1 {
                        0x00 => old.wrapping_add(v),
                        0x40 => old | v,
                        0x50 => old & v,
                        0xa0 => old ^ v,
                        0xe0 => v,
                        0xf0 => {
                            if old == r[0] & mask {
                                v
                            } else {
                                old
                            }
                        }
                        _ => {
                            return Err(ExecError::InvalidInstruction {
                                pc: cur,
                                opcode: i.opcode,
                            })
                        }
                    };
                    mem.store(cur, addr, size, new)?;
                    if i.imm & !1 == 0xf0 {
                        r[0] = old;
                    } else if fetch {
                        r[s] = old;
                    }
                }

                // Jumps.
                op::JA => {
                    goto!(i.off);
                }
                op::JA32 => {
                    goto!(i.imm);
                }
                op::JEQ64_IMM => jump!(r[d] == imm),
                op::JEQ64_REG => jump!(r[d] == r[s]),
                op::JGT64_IMM => jump!(r[d] > imm),
                op::JGT64_REG => jump!(r[d] > r[s]),
                op::JGE64_IMM => jump!(r[d] >= imm),
                op::JGE64_REG => jump!(r[d] >= r[s]),
                op::JSET64_IMM => jump!(r[d] & imm != 0),
                op::JSET64_REG => jump!(r[d] & r[s] != 0),
                op::JNE64_IMM => jump!(r[d] != imm),
                op::JNE64_REG => jump!(r[d] != r[s]),
                op::JSGT64_IMM => jump!((r[d] as i64) > imm as i64),
                op::JSGT64_REG => jump!((r[d] as i64) > r[s] as i64),
                op::JSGE64_IMM => jump!((r[d] as i64) >= imm as i64),
                op::JSGE64_REG => jump!((r[d] as i64) >= r[s] as i64),
                op::JLT64_IMM => jump!(r[d] < imm),
                op::JLT64_REG => jump!(r[d] < r[s]),
                op::JLE64_IMM => jump!(r[d] <= imm),
                op::JLE64_REG => jump!(r[d] <= r[s]),
                op::JSLT64_IMM => jump!((r[d] as i64) < imm as i64),
                op::JSLT64_REG => jump!((r[d] as i64) < r[s] as i64),
                op::JSLE64_IMM => jump!((r[d] as i64) <= imm as i64),
                op::JSLE64_REG => jump!((r[d] as i64) <= r[s] as i64),
                op::JEQ32_IMM => jump!(r[d] as u32 == immu),
                op::JEQ32_REG => jump!(r[d] as u32 == r[s] as u32),
                op::JGT32_IMM => jump!(r[d] as u32 > immu),
                op::JGT32_REG => jump!(r[d] as u32 > r[s] as u32),
                op::JGE32_IMM => jump!(r[d] as u32 >= immu),
                op::JGE32_REG => jump!(r[d] as u32 >= r[s] as u32),
                op::JSET32_IMM => jump!(r[d] as u32 & immu != 0),
                op::JSET32_REG => jump!(r[d] as u32 & r[s] as u32 != 0),
                op::JNE32_IMM => jump!(r[d] as u32 != immu),
                op::JNE32_REG => jump!(r[d] as u32 != r[s] as u32),
                op::JSGT32_IMM => jump!((r[d] as i32) > i.imm),
                op::JSGT32_REG => jump!((r[d] as i32) > r[s] as i32),
                op::JSGE32_IMM => jump!((r[d] as i32) >= i.imm),
                op::JSGE32_REG => jump!((r[d] as i32) >= r[s] as i32),
                op::JLT32_IMM => jump!((r[d] as u32) < immu),
                op::JLT32_REG => jump!((r[d] as u32) < r[s] as u32),
                op::JLE32_IMM => jump!(r[d] as u32 <= immu),
                op::JLE32_REG => jump!(r[d] as u32 <= r[s] as u32),
                op::JSLT32_IMM => jump!((r[d] as i32) < i.imm),
                op::JSLT32_REG => jump!((r[d] as i32) < r[s] as i32),
                op::JSLE32_IMM => jump!((r[d] as i32) <= i.imm),
                op::JSLE32_REG => jump!((r[d] as i32) <= r[s] as i32),

                // Calls and exit.
                op::CALL if i.src == 1 => {
                    if depth + 1 >= MAX_CALL_DEPTH {
                        return Err(ExecError::CallDepthExceeded { pc: cur });
                    }
                    tick!();
                    frames[depth] = Frame {
                        ret_pc: pc,
                        saved: [r[6], r[7], r[8], r[9]],
                    };
                    depth += 1;
                    r[10] -= STACK_SIZE as u64;
                    pc = (pc as i64 + i.imm as i64) as usize;
                }
                op::CALL | op::CALLX => {
                    let id = if i.opcode == op::CALL {
                        immu as u64
                    } else {
                        r[d]
                    };
                    // A fresh view, so that `mem` does not escape into the opaque call and
                    // its region bounds can stay in registers across the loop.
                    let mut view = Memory::new(&mut *mem.input, &mut *mem.stack);
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    match self.helpers.call(cur, id, &args, &mut view)? {
                        Some(r0) => r[0] = r0,
                        None => return Ok(0),
                    }
                    // Caller-saved: what the JIT leaves there too (`templates/bpf.h`).
                    r[1..6].fill(0);
                }
                op::EXIT => {
                    if depth == 0 {
                        return Ok(r[0]);
                    }
                    depth -= 1;
                    let f = frames[depth];
                    r[6..10].copy_from_slice(&f.saved);
                    r[10] += STACK_SIZE as u64;
                    pc = f.ret_pc;
                }
                opcode => return Err(ExecError::InvalidInstruction { pc: cur, opcode }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    fn run(src: &str, mem: &mut [u8]) -> Result<u64, ExecError> {
        let mut vm = Interpreter::new(assemble(src).unwrap(), Helpers::conformance()).unwrap();
        vm.set_budget(Some(1000));
        vm.run(mem)
    }

    #[test]
    fn division_by_zero_follows_rfc() {
        assert_eq!(
            run("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit", &mut []),
            Ok(0)
        );
        assert_eq!(
            run("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit", &mut []),
            Ok(7)
        );
        assert_eq!(
            run(
                "lddw %r0, 0x100000007\nmov %r1, 0\nmod32 %r0, %r1\nexit",
                &mut []
            ),
            Ok(7)
        );
        assert_eq!(
            run("mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1\nexit", &mut []),
            Ok(-7i64 as u64)
        );
    }

    #[test]
    fn out_of_bounds_store_names_pc_and_address() {
        let mut mem = [0u8; 4];
        let base = mem.as_ptr() as u64;
        let e = run("mov %r0, 0\nstw [%r1+2], 1\nexit", &mut mem).unwrap_err();
        assert_eq!(
            e,
            ExecError::OutOfBounds {
                pc: 1,
                addr: base + 2,
                size: 4,
                write: true
            }
        );
        assert!(e.to_string().contains("instruction 1"));
        assert!(run("mov %r0, 0\nstw [%r1], 1\nexit", &mut mem).is_ok());
        assert_eq!(mem, [1, 0, 0, 0]);
    }

    #[test]
    fn budget_stops_infinite_loops() {
        assert_eq!(
            run("mov %r0, 0\nja -1", &mut []),
            Err(ExecError::BudgetExhausted { pc: 1 })
        );
        // Only taken back-edges and local calls count: one call and two back-edges here.
        let src = "mov %r6, 3\ncall local f\nexit\nf:\nsub %r6, 1\njne %r6, 0, -2\nexit";
        let program = assemble(src).unwrap();
        let mut vm = Interpreter::new(program, Helpers::conformance()).unwrap();
        vm.set_budget(Some(3));
        assert_eq!(vm.run(&mut []), Ok(0));
        vm.set_budget(Some(2));
        assert_eq!(vm.run(&mut []), Err(ExecError::BudgetExhausted { pc: 4 }));
        vm.set_budget(Some(0));
        assert_eq!(vm.run(&mut []), Err(ExecError::BudgetExhausted { pc: 1 }));
    }

    #[test]
    fn helpers_unknown_and_unwind() {
        assert_eq!(
            run("call 77\nexit", &mut []),
            Err(ExecError::UnknownHelper { pc: 0, id: 77 })
        );
        assert_eq!(run("mov %r1, 0\ncall 5\nmov %r0, 2\nexit", &mut []), Ok(0));
        assert_eq!(run("mov %r1, 49\ncall 3\nexit", &mut []), Ok(7));
        let mut mem = *b"ab\0";
        assert!(run("mov %r2, 2\ncall 1\nexit", &mut mem).is_ok());
        assert_eq!(&mem, b"KH\0");
        let e = run("mov %r2, 4\ncall 1\nexit", &mut mem).unwrap_err();
        assert!(
            matches!(e, ExecError::HelperFault { pc: 1, id: 1, .. }),
            "{e}"
        );
        let mut mem = *b"abc\0abd\0";
        let src = "mov %r6, %r1\nadd %r6, 4\nmov %r2, %r6\ncall 4\nexit";
        assert_eq!(run(src, &mut mem), Ok(-1i64 as u64));
        let mut unterminated = *b"abc";
        assert!(run("mov %r2, %r1\ncall 4\nexit", &mut unterminated).is_err());
        let mut h = Helpers::new();
        h.register(9, "double", Box::new(|a, _| Ok(a[0] * 2)));
        assert_eq!(h.name(9), Some("double"));
        let vm = Interpreter::new(
            assemble("mov %r1, 21\nmov %r2, 9\ncall %r2\nexit").unwrap(),
            h,
        )
        .unwrap();
        assert_eq!(vm.run(&mut []), Ok(42));
    }

    #[test]
    fn local_calls_get_fresh_frames_and_restore_r6_to_r9() {
        let src =
            "stdw [%r10-8], 5\nmov %r6, 1\ncall local f\nldxdw %r0, [%r10-8]\nadd %r0, %r6\nexit\n\
                   f:\nstdw [%r10-8], 100\nmov %r6, 50\nexit";
        assert_eq!(run(src, &mut []), Ok(6));
    }
}
