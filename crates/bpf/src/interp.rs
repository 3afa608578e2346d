//! The interpreter tier: a dispatch loop over raw slots with every memory access
//! checked against the input region and the stack.
//!
//! Conventions (those of the conformance suite's runners): r1 = address of the input
//! memory, r2 = its length, r10 = top of a 512-byte stack frame; each program-local
//! call gets its own frame below the caller's and the callee-saved r6–r9 are restored
//! on return. Addresses are host addresses of the two regions, so a JIT tier can use
//! the same values.

use std::collections::HashMap;
use std::fmt;

use crate::isa::RawInsn;
use crate::verifier::{verify, VerifyError};

/// Bytes of stack per call frame.
pub const STACK_SIZE: usize = 512;
/// Maximum number of simultaneously active frames (the entry function counts as one).
pub const MAX_CALL_DEPTH: usize = 8;

/// A helper function: receives r1–r5 and the program's memory (pointer arguments are
/// checked through [`Memory`]), returns the new r0 or a fault that stops the program.
pub type HelperFn =
    Box<dyn Fn(&[u64; 5], &mut Memory<'_>) -> Result<u64, HelperFault> + Send + Sync>;

/// A helper's refusal to continue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperFault {
    /// A pointer argument does not designate `len` bytes of program memory.
    OutOfBounds {
        /// the address passed
        addr: u64,
        /// bytes needed
        len: u64,
    },
}

impl fmt::Display for HelperFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelperFault::OutOfBounds { addr, len } => {
                write!(f, "{len} bytes at {addr:#x} are outside program memory")
            }
        }
    }
}

/// Helper functions callable with `call N` / `callx reg`, by id.
#[derive(Default)]
pub struct Helpers {
    table: HashMap<u32, (String, HelperFn)>,
    unwind: Option<u32>,
}

impl Helpers {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) helper `id`.
    pub fn register(&mut self, id: u32, name: &str, f: HelperFn) {
        self.table.insert(id, (name.to_string(), f));
    }

    /// Marks helper `id` as the unwind helper: when it returns 0 the program stops with r0 = 0
    /// (the convention of uBPF's conformance plugin).
    pub fn set_unwind(&mut self, id: u32) {
        self.unwind = Some(id);
    }

    /// Calls helper `id` for the instruction at `pc`: `Some(r0)` to go on, `None` when the
    /// unwind helper returned 0 (the program stops with r0 = 0). Shared by both tiers.
    pub(crate) fn call(
        &self,
        pc: usize,
        id: u64,
        args: &[u64; 5],
        mem: &mut Memory<'_>,
    ) -> Result<Option<u64>, ExecError> {
        let helper = u32::try_from(id)
            .ok()
            .and_then(|k| self.table.get(&k).map(|(_, f)| (k, f)));
        let Some((k, f)) = helper else {
            return Err(ExecError::UnknownHelper { pc, id });
        };
        let r0 = f(args, mem).map_err(|fault| ExecError::HelperFault { pc, id: k, fault })?;
        Ok(if self.unwind == Some(k) && r0 == 0 {
            None
        } else {
            Some(r0)
        })
    }

    /// Name of helper `id`, if registered.
    pub fn name(&self, id: u32) -> Option<&str> {
        self.table.get(&id).map(|(n, _)| n.as_str())
    }

    /// uBPF's test helpers, which its conformance plugin registers, with uBPF's results:
    /// 0 `gather_bytes(a..e)` (the low bytes packed big-endian), 1 `memfrob(p, n)` (XOR 42 in
    /// place, returns 0), 2 `no_op()` (returns 0), 3 `sqrti(x)` (the square root of the whole
    /// 64-bit `x` in double precision, truncated), 4 `strcmp_ext(a, b)` (the first byte
    /// difference, sign-extended), 5 `unwind(x)` (returns x; set as the unwind helper).
    pub fn conformance() -> Self {
        let mut h = Helpers::new();
        h.register(
            0,
            "gather_bytes",
            Box::new(|a, _| {
                Ok(((a[0] & 0xff) << 32)
                    | ((a[1] & 0xff) << 24)
                    | ((a[2] & 0xff) << 16)
                    | ((a[3] & 0xff) << 8)
                    | (a[4] & 0xff))
            }),
        );
        h.register(
            1,
            "memfrob",
            Box::new(|a, mem| {
                mem.bytes(a[0], a[1])?.iter_mut().for_each(|b| *b ^= 42);
                Ok(0)
            }),
        );
        h.register(2, "no_op", Box::new(|_, _| Ok(0)));
        h.register(3, "sqrti", Box::new(|a, _| Ok((a[0] as f64).sqrt() as u64)));
        h.register(
            4,
            "strcmp_ext",
            Box::new(|a, mem| {
                let x = mem.c_str(a[0])?.to_vec();
                let y = mem.c_str(a[1])?;
                let (x, y) = (x.iter().chain([&0u8]), y.iter().chain([&0u8]));
                let diff = x
                    .zip(y)
                    .map(|(p, q)| *p as i32 - *q as i32)
                    .find(|d| *d != 0)
                    .unwrap_or(0);
                Ok(diff as i64 as u64)
            }),
        );
        h.register(5, "unwind", Box::new(|a, _| Ok(a[0])));
        h.set_unwind(5);
        h
    }
}

/// A runtime failure; `pc` is the index of the faulting instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecError {
    /// A load or store outside the input memory and the stack.
    OutOfBounds {
        /// instruction index
        pc: usize,
        /// first byte accessed
        addr: u64,
        /// access width
        size: usize,
        /// store (true) or load
        write: bool,
    },
    /// `call` of an id with no registered helper.
    UnknownHelper {
        /// instruction index
        pc: usize,
        /// helper id
        id: u64,
    },
    /// A local call beyond [`MAX_CALL_DEPTH`] frames.
    CallDepthExceeded {
        /// instruction index
        pc: usize,
    },
    /// The budget ran out (see [`Interpreter::set_budget`]).
    BudgetExhausted {
        /// the back-edge or local call that would have exceeded it
        pc: usize,
    },
    /// A helper stopped the program.
    HelperFault {
        /// instruction index of the call
        pc: usize,
        /// helper id
        id: u32,
        /// what went wrong
        fault: HelperFault,
    },
    /// Control reached a slot outside the program.
    PcOutOfRange {
        /// the slot index reached
        pc: usize,
    },
    /// An opcode the interpreter does not execute (only possible for unverified code).
    InvalidInstruction {
        /// instruction index
        pc: usize,
        /// opcode byte
        opcode: u8,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::OutOfBounds {
                pc,
                addr,
                size,
                write,
            } => write!(
                f,
                "instruction {pc}: out-of-bounds {} of {size} bytes at address {addr:#x}",
                if *write { "store" } else { "load" }
            ),
            ExecError::UnknownHelper { pc, id } => {
                write!(f, "instruction {pc}: call to unknown helper {id}")
            }
            ExecError::CallDepthExceeded { pc } => write!(
                f,
                "instruction {pc}: call depth exceeds {MAX_CALL_DEPTH} frames"
            ),
            ExecError::BudgetExhausted { pc } => {
                write!(
                    f,
                    "instruction {pc}: budget exhausted (taken back-edges and local calls)"
                )
            }
            ExecError::HelperFault { pc, id, fault } => {
                write!(f, "instruction {pc}: helper {id}: {fault}")
            }
            ExecError::PcOutOfRange { pc } => {
                write!(f, "control reached slot {pc}, outside the program")
            }
            ExecError::InvalidInstruction { pc, opcode } => {
                write!(f, "instruction {pc}: invalid opcode {opcode:#04x}")
            }
        }
    }
}

impl std::error::Error for ExecError {}

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

/// Memory regions visible to a running program: the input and the stack.
pub struct Memory<'a> {
    input: &'a mut [u8],
    input_base: u64,
    stack: &'a mut [u8],
    stack_base: u64,
}

impl<'a> Memory<'a> {
    /// The program's view of `input` and `stack`, addressed by their host addresses.
    pub(crate) fn new(input: &'a mut [u8], stack: &'a mut [u8]) -> Memory<'a> {
        Memory {
            input_base: input.as_ptr() as u64,
            input,
            stack_base: stack.as_ptr() as u64,
            stack,
        }
    }

    /// The `len` bytes at `addr`, if they lie inside one region (for helpers).
    pub fn bytes(&mut self, addr: u64, len: u64) -> Result<&mut [u8], HelperFault> {
        usize::try_from(len)
            .ok()
            .and_then(|n| self.locate(addr, n))
            .ok_or(HelperFault::OutOfBounds { addr, len })
    }

    /// The NUL-terminated string at `addr` (without the NUL), which must end inside
    /// the region it starts in.
    pub fn c_str(&mut self, addr: u64) -> Result<&[u8], HelperFault> {
        let fault = HelperFault::OutOfBounds { addr, len: 1 };
        let tail = self.tail(addr).ok_or(fault.clone())?;
        let n = tail.iter().position(|&b| b == 0).ok_or(fault)?;
        Ok(&tail[..n])
    }

    /// Everything from `addr` to the end of its region.
    fn tail(&mut self, addr: u64) -> Option<&mut [u8]> {
        let so = addr.wrapping_sub(self.stack_base);
        if so < self.stack.len() as u64 {
            return Some(&mut self.stack[so as usize..]);
        }
        let io = addr.wrapping_sub(self.input_base);
        if io < self.input.len() as u64 {
            return Some(&mut self.input[io as usize..]);
        }
        None
    }

    /// Finds the region slice and offset holding `[addr, addr + size)`.
    #[inline(always)]
    fn locate(&mut self, addr: u64, size: usize) -> Option<&mut [u8]> {
        let s = size as u64;
        let so = addr.wrapping_sub(self.stack_base);
        if so <= self.stack.len() as u64 && s <= self.stack.len() as u64 - so {
            let o = so as usize;
            return Some(&mut self.stack[o..o + size]);
        }
        let io = addr.wrapping_sub(self.input_base);
        if io <= self.input.len() as u64 && s <= self.input.len() as u64 - io {
            let o = io as usize;
            return Some(&mut self.input[o..o + size]);
        }
        None
    }

    #[inline(always)]
    fn load(&mut self, pc: usize, addr: u64, size: usize) -> Result<u64, ExecError> {
        let b = self.locate(addr, size).ok_or(ExecError::OutOfBounds {
            pc,
            addr,
            size,
            write: false,
        })?;
        let mut w = [0u8; 8];
        w[..size].copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    #[inline(always)]
    fn store(&mut self, pc: usize, addr: u64, size: usize, v: u64) -> Result<(), ExecError> {
        let b = self.locate(addr, size).ok_or(ExecError::OutOfBounds {
            pc,
            addr,
            size,
            write: true,
        })?;
        b.copy_from_slice(&v.to_le_bytes()[..size]);
        Ok(())
    }
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
                0x07 => r[d] = r[d].wrapping_add(imm),
                0x0f => r[d] = r[d].wrapping_add(r[s]),
                0x17 => r[d] = r[d].wrapping_sub(imm),
                0x1f => r[d] = r[d].wrapping_sub(r[s]),
                0x27 => r[d] = r[d].wrapping_mul(imm),
                0x2f => r[d] = r[d].wrapping_mul(r[s]),
                0x37 | 0x3f => {
                    let v = if i.opcode == 0x37 { imm } else { r[s] };
                    r[d] = match (i.off, v) {
                        (_, 0) => 0,
                        (0, v) => r[d] / v,
                        (_, v) => (r[d] as i64).wrapping_div(v as i64) as u64,
                    };
                }
                0x47 => r[d] |= imm,
                0x4f => r[d] |= r[s],
                0x57 => r[d] &= imm,
                0x5f => r[d] &= r[s],
                0x67 => r[d] <<= imm & 63,
                0x6f => r[d] <<= r[s] & 63,
                0x77 => r[d] >>= imm & 63,
                0x7f => r[d] >>= r[s] & 63,
                0x87 => r[d] = r[d].wrapping_neg(),
                0x97 | 0x9f => {
                    let v = if i.opcode == 0x97 { imm } else { r[s] };
                    r[d] = match (i.off, v) {
                        (_, 0) => r[d],
                        (0, v) => r[d] % v,
                        (_, v) => (r[d] as i64).wrapping_rem(v as i64) as u64,
                    };
                }
                0xa7 => r[d] ^= imm,
                0xaf => r[d] ^= r[s],
                0xb7 => r[d] = imm,
                0xbf => {
                    r[d] = match i.off {
                        8 => r[s] as i8 as i64 as u64,
                        16 => r[s] as i16 as i64 as u64,
                        32 => r[s] as i32 as i64 as u64,
                        _ => r[s],
                    }
                }
                0xc7 => r[d] = ((r[d] as i64) >> (imm & 63)) as u64,
                0xcf => r[d] = ((r[d] as i64) >> (r[s] & 63)) as u64,
                0xd7 => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).swap_bytes() as u64,
                        32 => (r[d] as u32).swap_bytes() as u64,
                        _ => r[d].swap_bytes(),
                    }
                }

                // ALU32: operate on the low halves, zero-extend the result.
                0x04 => r[d] = (r[d] as u32).wrapping_add(immu) as u64,
                0x0c => r[d] = (r[d] as u32).wrapping_add(r[s] as u32) as u64,
                0x14 => r[d] = (r[d] as u32).wrapping_sub(immu) as u64,
                0x1c => r[d] = (r[d] as u32).wrapping_sub(r[s] as u32) as u64,
                0x24 => r[d] = (r[d] as u32).wrapping_mul(immu) as u64,
                0x2c => r[d] = (r[d] as u32).wrapping_mul(r[s] as u32) as u64,
                0x34 | 0x3c => {
                    let v = if i.opcode == 0x34 { immu } else { r[s] as u32 };
                    let a = r[d] as u32;
                    r[d] = match (i.off, v) {
                        (_, 0) => 0,
                        (0, v) => (a / v) as u64,
                        (_, v) => (a as i32).wrapping_div(v as i32) as u32 as u64,
                    };
                }
                0x44 => r[d] = (r[d] as u32 | immu) as u64,
                0x4c => r[d] = (r[d] as u32 | r[s] as u32) as u64,
                0x54 => r[d] = (r[d] as u32 & immu) as u64,
                0x5c => r[d] = (r[d] as u32 & r[s] as u32) as u64,
                0x64 => r[d] = ((r[d] as u32) << (immu & 31)) as u64,
                0x6c => r[d] = ((r[d] as u32) << (r[s] & 31)) as u64,
                0x74 => r[d] = ((r[d] as u32) >> (immu & 31)) as u64,
                0x7c => r[d] = ((r[d] as u32) >> (r[s] & 31)) as u64,
                0x84 => r[d] = (r[d] as u32).wrapping_neg() as u64,
                0x94 | 0x9c => {
                    let v = if i.opcode == 0x94 { immu } else { r[s] as u32 };
                    let a = r[d] as u32;
                    r[d] = match (i.off, v) {
                        (_, 0) => a as u64,
                        (0, v) => (a % v) as u64,
                        (_, v) => (a as i32).wrapping_rem(v as i32) as u32 as u64,
                    };
                }
                0xa4 => r[d] = (r[d] as u32 ^ immu) as u64,
                0xac => r[d] = (r[d] as u32 ^ r[s] as u32) as u64,
                0xb4 => r[d] = immu as u64,
                0xbc => {
                    r[d] = match i.off {
                        8 => r[s] as i8 as i32 as u32 as u64,
                        16 => r[s] as i16 as i32 as u32 as u64,
                        _ => r[s] as u32 as u64,
                    }
                }
                0xc4 => r[d] = ((r[d] as u32 as i32) >> (immu & 31)) as u32 as u64,
                0xcc => r[d] = ((r[d] as u32 as i32) >> (r[s] & 31)) as u32 as u64,
                0xd4 => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).to_le() as u64,
                        32 => (r[d] as u32).to_le() as u64,
                        _ => r[d].to_le(),
                    }
                }
                0xdc => {
                    r[d] = match i.imm {
                        16 => (r[d] as u16).to_be() as u64,
                        32 => (r[d] as u32).to_be() as u64,
                        _ => r[d].to_be(),
                    }
                }

                // lddw
                0x18 => {
                    let Some(hi) = prog.get(pc) else {
                        return Err(ExecError::PcOutOfRange { pc });
                    };
                    r[d] = (immu as u64) | ((hi.imm as u32 as u64) << 32);
                    pc += 1;
                }

                // Loads.
                0x71 => r[d] = mem.load(cur, r[s].wrapping_add(off), 1)?,
                0x69 => r[d] = mem.load(cur, r[s].wrapping_add(off), 2)?,
                0x61 => r[d] = mem.load(cur, r[s].wrapping_add(off), 4)?,
                0x79 => r[d] = mem.load(cur, r[s].wrapping_add(off), 8)?,
                0x91 => r[d] = mem.load(cur, r[s].wrapping_add(off), 1)? as i8 as i64 as u64,
                0x89 => r[d] = mem.load(cur, r[s].wrapping_add(off), 2)? as i16 as i64 as u64,
                0x81 => r[d] = mem.load(cur, r[s].wrapping_add(off), 4)? as i32 as i64 as u64,

                // Stores.
                0x72 => mem.store(cur, r[d].wrapping_add(off), 1, imm)?,
                0x6a => mem.store(cur, r[d].wrapping_add(off), 2, imm)?,
                0x62 => mem.store(cur, r[d].wrapping_add(off), 4, imm)?,
                0x7a => mem.store(cur, r[d].wrapping_add(off), 8, imm)?,
                0x73 => mem.store(cur, r[d].wrapping_add(off), 1, r[s])?,
                0x6b => mem.store(cur, r[d].wrapping_add(off), 2, r[s])?,
                0x63 => mem.store(cur, r[d].wrapping_add(off), 4, r[s])?,
                0x7b => mem.store(cur, r[d].wrapping_add(off), 8, r[s])?,

                // Atomics (the interpreter is single-threaded: plain read-modify-write).
                0xc3 | 0xdb => {
                    let size = if i.opcode == 0xc3 { 4 } else { 8 };
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
                0x05 => {
                    goto!(i.off);
                }
                0x06 => {
                    goto!(i.imm);
                }
                0x15 => jump!(r[d] == imm),
                0x1d => jump!(r[d] == r[s]),
                0x25 => jump!(r[d] > imm),
                0x2d => jump!(r[d] > r[s]),
                0x35 => jump!(r[d] >= imm),
                0x3d => jump!(r[d] >= r[s]),
                0x45 => jump!(r[d] & imm != 0),
                0x4d => jump!(r[d] & r[s] != 0),
                0x55 => jump!(r[d] != imm),
                0x5d => jump!(r[d] != r[s]),
                0x65 => jump!((r[d] as i64) > imm as i64),
                0x6d => jump!((r[d] as i64) > r[s] as i64),
                0x75 => jump!((r[d] as i64) >= imm as i64),
                0x7d => jump!((r[d] as i64) >= r[s] as i64),
                0xa5 => jump!(r[d] < imm),
                0xad => jump!(r[d] < r[s]),
                0xb5 => jump!(r[d] <= imm),
                0xbd => jump!(r[d] <= r[s]),
                0xc5 => jump!((r[d] as i64) < imm as i64),
                0xcd => jump!((r[d] as i64) < r[s] as i64),
                0xd5 => jump!((r[d] as i64) <= imm as i64),
                0xdd => jump!((r[d] as i64) <= r[s] as i64),
                0x16 => jump!(r[d] as u32 == immu),
                0x1e => jump!(r[d] as u32 == r[s] as u32),
                0x26 => jump!(r[d] as u32 > immu),
                0x2e => jump!(r[d] as u32 > r[s] as u32),
                0x36 => jump!(r[d] as u32 >= immu),
                0x3e => jump!(r[d] as u32 >= r[s] as u32),
                0x46 => jump!(r[d] as u32 & immu != 0),
                0x4e => jump!(r[d] as u32 & r[s] as u32 != 0),
                0x56 => jump!(r[d] as u32 != immu),
                0x5e => jump!(r[d] as u32 != r[s] as u32),
                0x66 => jump!((r[d] as i32) > i.imm),
                0x6e => jump!((r[d] as i32) > r[s] as i32),
                0x76 => jump!((r[d] as i32) >= i.imm),
                0x7e => jump!((r[d] as i32) >= r[s] as i32),
                0xa6 => jump!((r[d] as u32) < immu),
                0xae => jump!((r[d] as u32) < r[s] as u32),
                0xb6 => jump!(r[d] as u32 <= immu),
                0xbe => jump!(r[d] as u32 <= r[s] as u32),
                0xc6 => jump!((r[d] as i32) < i.imm),
                0xce => jump!((r[d] as i32) < r[s] as i32),
                0xd6 => jump!((r[d] as i32) <= i.imm),
                0xde => jump!((r[d] as i32) <= r[s] as i32),

                // Calls and exit.
                0x85 if i.src == 1 => {
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
                0x85 | 0x8d => {
                    let id = if i.opcode == 0x85 { immu as u64 } else { r[d] };
                    // A fresh view, so that `mem` does not escape into the opaque call and
                    // its region bounds can stay in registers across the loop.
                    let mut view = Memory::new(&mut *mem.input, &mut *mem.stack);
                    let args = [r[1], r[2], r[3], r[4], r[5]];
                    match self.helpers.call(cur, id, &args, &mut view)? {
                        Some(r0) => r[0] = r0,
                        None => return Ok(0),
                    }
                }
                0x95 => {
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
