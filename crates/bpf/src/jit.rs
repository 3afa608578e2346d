//! The copy-and-patch JIT tier: every verified instruction becomes a copy of one stencil
//! (`templates/*.c`, compiled by clang into the committed tables under `stencils/`), patched
//! with its registers, immediate, offset and branch destination. Semantics, memory checks and
//! errors are the interpreter's, so the two tiers can be compared result for result.
//!
//! ```
//! use patchjit_bpf::{asm::assemble, jit::Jit, vm::Helpers};
//! let program = assemble("mov %r0, 6\nmul %r0, 7\nexit").unwrap();
//! let jit = Jit::new(program, Helpers::conformance()).unwrap();
//! assert_eq!(jit.run(&mut []), Ok(42));
//! ```

use std::any::Any;
use std::ffi::c_void;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use patchjit::{Destination, EmitError, Emitter, ExecutableCode, Instruction, Options};

use crate::isa::{opcode as op, AtomicOp, Class, RawInsn, ATOMIC_FETCH};
use crate::verifier::{verify, VerifyError};
use crate::vm::{ExecError, Helpers, Memory, MAX_CALL_DEPTH, STACK_SIZE};

/// The generated table: `STENCILS` and one index constant per template (`ADD64_IMM`...).
mod stencils {
    include!(concat!(env!("OUT_DIR"), "/stencils.rs"));
}

/// `BPF_FAULT_*` of `templates/bpf.h`, and one more for a helper that stopped the program.
const FAULT_LOAD: u64 = 1;
const FAULT_STORE: u64 = 2;
const FAULT_DEPTH: u64 = 3;
const FAULT_HELPER: u64 = 4;
const FAULT_BUDGET: u64 = 5;

/// The machine state the stencils see (`BpfVm` in `templates/bpf.h`, field for field).
#[repr(C)]
struct Vm {
    r: [u64; 16],
    input_base: u64,
    input_len: u64,
    stack_base: u64,
    stack_len: u64,
    depth: u64,
    ret: [u64; MAX_CALL_DEPTH],
    saved: [[u64; 4]; MAX_CALL_DEPTH],
    fault: u64,
    fault_pc: u64,
    fault_addr: u64,
    fault_size: u64,
    host: *mut c_void,
    budget: u64,
}

// Offsets the compiled templates rely on (a mismatch with `BpfVm` would corrupt the state).
const _: () = assert!(std::mem::offset_of!(Vm, input_base) == 0x80);
const _: () = assert!(std::mem::offset_of!(Vm, fault) == 0x1e8);
const _: () = assert!(std::mem::offset_of!(Vm, host) == 0x208);
const _: () = assert!(std::mem::offset_of!(Vm, budget) == 0x210);

/// What helper calls need from the Rust side while the code runs.
struct Host<'h> {
    helpers: &'h Helpers,
    input: *mut u8,
    input_len: usize,
    stack: *mut u8,
    stack_len: usize,
    /// Why a helper stopped the program (`None` with `FAULT_HELPER`: the unwind helper).
    error: Option<ExecError>,
    /// A helper's panic, resumed once the machine code has returned.
    panic: Option<Box<dyn Any + Send>>,
}

/// Called by the `call_helper` and `callx` stencils; returns nonzero when the program must
/// stop (the reason is left in the state).
extern "C" fn bpf_jit_call_helper(vm: *mut Vm, id: u64, pc: u64) -> u64 {
    // SAFETY: the stencils pass the state `Jit::run` created, whose `host` points to a live
    // `Host`; nothing else touches either while the machine code runs.
    let vm = unsafe { &mut *vm };
    let host = unsafe { &mut *(vm.host as *mut Host<'_>) };
    // SAFETY: `input` and `stack` are the regions `Jit::run` borrows mutably for the run; the
    // machine code is suspended in this call, so these slices are their only users.
    let (input, stack) = unsafe {
        (
            std::slice::from_raw_parts_mut(host.input, host.input_len),
            std::slice::from_raw_parts_mut(host.stack, host.stack_len),
        )
    };
    let mut memory = Memory::new(input, stack);
    let args = [vm.r[1], vm.r[2], vm.r[3], vm.r[4], vm.r[5]];
    let helpers = host.helpers;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        helpers.call(pc as usize, id, &args, &mut memory)
    }));
    match outcome {
        Ok(Ok(Some(r0))) => {
            vm.r[0] = r0;
            return 0;
        }
        Ok(Ok(None)) => vm.r[0] = 0,
        Ok(Err(error)) => host.error = Some(error),
        Err(panic) => host.panic = Some(panic),
    }
    vm.fault = FAULT_HELPER;
    1
}

/// Why a program could not be compiled.
#[derive(Debug)]
pub enum JitError {
    /// The verifier rejected the program.
    Verify(VerifyError),
    /// The emitter refused (an internal error: the table and the compiler disagree).
    Emit(EmitError),
}

impl fmt::Display for JitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JitError::Verify(e) => write!(f, "{e}"),
            JitError::Emit(e) => write!(f, "emitting machine code: {e}"),
        }
    }
}

impl std::error::Error for JitError {}

impl From<EmitError> for JitError {
    fn from(e: EmitError) -> Self {
        JitError::Emit(e)
    }
}

/// A verified program compiled to machine code.
pub struct Jit {
    code: ExecutableCode,
    helpers: Helpers,
    /// The budget of every run, when compiled with one ([`Jit::with_budget`]).
    budget: Option<u64>,
}

/// Stencils of an operation in its four forms, in the order of [`form`].
type Forms = [u16; 4];

/// Which of an ALU or jump operation's [`Forms`] an opcode selects: 64-bit immediate, 64-bit
/// register, 32-bit immediate, 32-bit register (ALU32 and JMP32 are classes 4 and 6).
fn form(i: RawInsn) -> usize {
    ((i.opcode >> 3) & 1) as usize + 2 * usize::from(matches!(i.class(), Class::Alu | Class::Jmp32))
}

/// ALU operations by `opcode >> 4` (`neg` ignores its operand; `end` is decided by `imm`).
const ALU: [Forms; 13] = {
    use stencils::*;
    [
        [ADD64_IMM, ADD64_REG, ADD32_IMM, ADD32_REG],
        [SUB64_IMM, SUB64_REG, SUB32_IMM, SUB32_REG],
        [MUL64_IMM, MUL64_REG, MUL32_IMM, MUL32_REG],
        [DIV64_IMM, DIV64_REG, DIV32_IMM, DIV32_REG],
        [OR64_IMM, OR64_REG, OR32_IMM, OR32_REG],
        [AND64_IMM, AND64_REG, AND32_IMM, AND32_REG],
        [LSH64_IMM, LSH64_REG, LSH32_IMM, LSH32_REG],
        [RSH64_IMM, RSH64_REG, RSH32_IMM, RSH32_REG],
        [NEG64, NEG64, NEG32, NEG32],
        [MOD64_IMM, MOD64_REG, MOD32_IMM, MOD32_REG],
        [XOR64_IMM, XOR64_REG, XOR32_IMM, XOR32_REG],
        [MOV64_IMM, MOV64_REG, MOV32_IMM, MOV32_REG],
        [ARSH64_IMM, ARSH64_REG, ARSH32_IMM, ARSH32_REG],
    ]
};

/// `div` and `mod` with offset 1: the signed variants.
const SDIV: Forms = {
    use stencils::*;
    [SDIV64_IMM, SDIV64_REG, SDIV32_IMM, SDIV32_REG]
};
const SMOD: Forms = {
    use stencils::*;
    [SMOD64_IMM, SMOD64_REG, SMOD32_IMM, SMOD32_REG]
};

/// Conditional jumps by `opcode >> 4` (0, 8 and 9 are `ja`, `call` and `exit`).
const JUMPS: [Forms; 14] = {
    use stencils::*;
    [
        [0; 4],
        [JEQ64_IMM, JEQ64_REG, JEQ32_IMM, JEQ32_REG],
        [JGT64_IMM, JGT64_REG, JGT32_IMM, JGT32_REG],
        [JGE64_IMM, JGE64_REG, JGE32_IMM, JGE32_REG],
        [JSET64_IMM, JSET64_REG, JSET32_IMM, JSET32_REG],
        [JNE64_IMM, JNE64_REG, JNE32_IMM, JNE32_REG],
        [JSGT64_IMM, JSGT64_REG, JSGT32_IMM, JSGT32_REG],
        [JSGE64_IMM, JSGE64_REG, JSGE32_IMM, JSGE32_REG],
        [0; 4],
        [0; 4],
        [JLT64_IMM, JLT64_REG, JLT32_IMM, JLT32_REG],
        [JLE64_IMM, JLE64_REG, JLE32_IMM, JLE32_REG],
        [JSLT64_IMM, JSLT64_REG, JSLT32_IMM, JSLT32_REG],
        [JSLE64_IMM, JSLE64_REG, JSLE32_IMM, JSLE32_REG],
    ]
};

/// OPARG of `templates/bpf.h`: registers and the instruction index (for errors).
fn oparg(i: &RawInsn, pc: usize) -> u64 {
    (i.dst & 0xf) as u64 | ((i.src & 0xf) as u64) << 4 | (pc as u64) << 8
}

/// Whether loads, stores and atomics check their address ([`Jit::unchecked`] drops it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Checked,
    Unchecked,
}

/// The stencil for `i` (verified, so every opcode is known).
fn group(i: RawInsn, access: Access) -> u16 {
    use stencils::*;
    // Memory stencils come as [checked, unchecked] pairs.
    let unchecked = usize::from(access == Access::Unchecked);
    let (operation, form) = ((i.opcode >> 4) as usize, form(i));
    let alu = matches!(i.class(), Class::Alu | Class::Alu64);
    match i.opcode {
        op::BSWAP | op::LE | op::BE => {
            let widths = match i.opcode {
                op::BSWAP => [BSWAP16, BSWAP32, BSWAP64],
                op::LE => [LE16, LE32, LE64],
                _ => [BE16, BE32, BE64],
            };
            widths[match i.imm {
                16 => 0,
                32 => 1,
                _ => 2,
            }]
        }
        op::MOV64_REG | op::MOV32_REG if i.off != 0 => match (i.opcode, i.off) {
            (op::MOV64_REG, 8) => MOVSX64_8,
            (op::MOV64_REG, 16) => MOVSX64_16,
            (op::MOV64_REG, _) => MOVSX64_32,
            (_, 8) => MOVSX32_8,
            _ => MOVSX32_16,
        },
        _ if alu && i.off != 0 && operation == 3 => SDIV[form],
        _ if alu && i.off != 0 && operation == 9 => SMOD[form],
        _ if alu => ALU[operation][form],
        op::LDDW => LDDW,
        // Through r10 the verifier has already bounded the access to the current frame.
        op::LDX_B if i.src == 10 => LDX_B_FRAME,
        op::LDX_H if i.src == 10 => LDX_H_FRAME,
        op::LDX_W if i.src == 10 => LDX_W_FRAME,
        op::LDX_DW if i.src == 10 => LDX_DW_FRAME,
        op::LDXS_B if i.src == 10 => LDXS_B_FRAME,
        op::LDXS_H if i.src == 10 => LDXS_H_FRAME,
        op::LDXS_W if i.src == 10 => LDXS_W_FRAME,
        op::ST_B if i.dst == 10 => ST_B_FRAME,
        op::ST_H if i.dst == 10 => ST_H_FRAME,
        op::ST_W if i.dst == 10 => ST_W_FRAME,
        op::ST_DW if i.dst == 10 => ST_DW_FRAME,
        op::STX_B if i.dst == 10 => STX_B_FRAME,
        op::STX_H if i.dst == 10 => STX_H_FRAME,
        op::STX_W if i.dst == 10 => STX_W_FRAME,
        op::STX_DW if i.dst == 10 => STX_DW_FRAME,
        op::LDX_B => [LDX_B, LDX_B_UNCHECKED][unchecked],
        op::LDX_H => [LDX_H, LDX_H_UNCHECKED][unchecked],
        op::LDX_W => [LDX_W, LDX_W_UNCHECKED][unchecked],
        op::LDX_DW => [LDX_DW, LDX_DW_UNCHECKED][unchecked],
        op::LDXS_B => [LDXS_B, LDXS_B_UNCHECKED][unchecked],
        op::LDXS_H => [LDXS_H, LDXS_H_UNCHECKED][unchecked],
        op::LDXS_W => [LDXS_W, LDXS_W_UNCHECKED][unchecked],
        op::ST_B => [ST_B, ST_B_UNCHECKED][unchecked],
        op::ST_H => [ST_H, ST_H_UNCHECKED][unchecked],
        op::ST_W => [ST_W, ST_W_UNCHECKED][unchecked],
        op::ST_DW => [ST_DW, ST_DW_UNCHECKED][unchecked],
        op::STX_B => [STX_B, STX_B_UNCHECKED][unchecked],
        op::STX_H => [STX_H, STX_H_UNCHECKED][unchecked],
        op::STX_W => [STX_W, STX_W_UNCHECKED][unchecked],
        op::STX_DW => [STX_DW, STX_DW_UNCHECKED][unchecked],
        op::ATOMIC32 | op::ATOMIC64 => {
            let pick = |wide: [u16; 2], narrow: [u16; 2]| {
                if i.opcode == op::ATOMIC64 {
                    wide[unchecked]
                } else {
                    narrow[unchecked]
                }
            };
            let fetch = i.imm & ATOMIC_FETCH != 0;
            // Verified: imm names one of the operations.
            let operation = AtomicOp::ALL
                .into_iter()
                .find(|o| o.code() & !ATOMIC_FETCH == i.imm & !ATOMIC_FETCH);
            match (operation, fetch) {
                (Some(AtomicOp::Add), false) => pick(
                    [ATOMIC64_ADD, ATOMIC64_ADD_UNCHECKED],
                    [ATOMIC32_ADD, ATOMIC32_ADD_UNCHECKED],
                ),
                (Some(AtomicOp::Add), true) => pick(
                    [ATOMIC64_FETCH_ADD, ATOMIC64_FETCH_ADD_UNCHECKED],
                    [ATOMIC32_FETCH_ADD, ATOMIC32_FETCH_ADD_UNCHECKED],
                ),
                (Some(AtomicOp::Or), false) => pick(
                    [ATOMIC64_OR, ATOMIC64_OR_UNCHECKED],
                    [ATOMIC32_OR, ATOMIC32_OR_UNCHECKED],
                ),
                (Some(AtomicOp::Or), true) => pick(
                    [ATOMIC64_FETCH_OR, ATOMIC64_FETCH_OR_UNCHECKED],
                    [ATOMIC32_FETCH_OR, ATOMIC32_FETCH_OR_UNCHECKED],
                ),
                (Some(AtomicOp::And), false) => pick(
                    [ATOMIC64_AND, ATOMIC64_AND_UNCHECKED],
                    [ATOMIC32_AND, ATOMIC32_AND_UNCHECKED],
                ),
                (Some(AtomicOp::And), true) => pick(
                    [ATOMIC64_FETCH_AND, ATOMIC64_FETCH_AND_UNCHECKED],
                    [ATOMIC32_FETCH_AND, ATOMIC32_FETCH_AND_UNCHECKED],
                ),
                (Some(AtomicOp::Xor), false) => pick(
                    [ATOMIC64_XOR, ATOMIC64_XOR_UNCHECKED],
                    [ATOMIC32_XOR, ATOMIC32_XOR_UNCHECKED],
                ),
                (Some(AtomicOp::Xor), true) => pick(
                    [ATOMIC64_FETCH_XOR, ATOMIC64_FETCH_XOR_UNCHECKED],
                    [ATOMIC32_FETCH_XOR, ATOMIC32_FETCH_XOR_UNCHECKED],
                ),
                (Some(AtomicOp::Xchg), _) => pick(
                    [ATOMIC64_XCHG, ATOMIC64_XCHG_UNCHECKED],
                    [ATOMIC32_XCHG, ATOMIC32_XCHG_UNCHECKED],
                ),
                _ => pick(
                    [ATOMIC64_CMPXCHG, ATOMIC64_CMPXCHG_UNCHECKED],
                    [ATOMIC32_CMPXCHG, ATOMIC32_CMPXCHG_UNCHECKED],
                ),
            }
        }
        op::JA | op::JA32 => JA,
        op::CALL if i.src == 1 => CALL_LOCAL,
        op::CALL => CALL_HELPER,
        op::CALLX => CALLX,
        op::EXIT => EXIT,
        _ => JUMPS[operation][form],
    }
}

impl Jit {
    /// Verifies `prog` and compiles it into a fresh mapping; `helpers` serve its `call`s when
    /// it runs.
    pub fn new(prog: Vec<RawInsn>, helpers: Helpers) -> Result<Jit, JitError> {
        Jit::with_options(prog, helpers, &Options::default())
    }

    /// [`Jit::new`] with the runtime's options: an arena placement, so that many programs
    /// don't each pay for a mapping, or perf map and GDB registration (one symbol per eBPF
    /// instruction) to profile and debug the code.
    pub fn with_options(
        prog: Vec<RawInsn>,
        helpers: Helpers,
        options: &Options,
    ) -> Result<Jit, JitError> {
        Jit::compile(prog, helpers, options, None, Access::Checked)
    }

    /// [`Jit::with_options`] for untrusted programs: every run may take at most `budget`
    /// backward jumps and local calls, then stops with [`ExecError::BudgetExhausted`] at the
    /// instruction that would exceed it — the interpreter's rule
    /// ([`crate::interp::Interpreter::set_budget`]). Each counted edge goes through a
    /// `budget` stencil placed after the program, so only these edges cost anything.
    pub fn with_budget(
        prog: Vec<RawInsn>,
        helpers: Helpers,
        options: &Options,
        budget: u64,
    ) -> Result<Jit, JitError> {
        Jit::compile(prog, helpers, options, Some(budget), Access::Checked)
    }

    /// [`Jit::with_options`] without bounds checks on loads, stores and atomics (those
    /// through r10 are confined to the frame by the verifier either way), for programs trusted
    /// not to stray — what rbpf's x86-64 JIT assumes of every program.
    ///
    /// # Safety
    ///
    /// Every memory access the program makes, on every input it will be run with, must lie
    /// inside that input or the stack; any other access reads or writes the host's memory.
    pub unsafe fn unchecked(
        prog: Vec<RawInsn>,
        helpers: Helpers,
        options: &Options,
    ) -> Result<Jit, JitError> {
        Jit::compile(prog, helpers, options, None, Access::Unchecked)
    }

    fn compile(
        prog: Vec<RawInsn>,
        helpers: Helpers,
        options: &Options,
        budget: Option<u64>,
        access: Access,
    ) -> Result<Jit, JitError> {
        verify(&prog).map_err(JitError::Verify)?;
        // One emitted instruction per eBPF instruction (lddw's two slots make one): the index
        // of the instruction starting at each slot.
        let mut index_of_slot = vec![0u32; prog.len() + 1];
        let mut starts = Vec::with_capacity(prog.len());
        let mut slot = 0;
        while slot < prog.len() {
            index_of_slot[slot] = starts.len() as u32;
            starts.push(slot);
            slot += if prog[slot].opcode == op::LDDW { 2 } else { 1 };
        }
        let mut emitter = Emitter::new(
            &stencils::STENCILS,
            &[(
                "bpf_jit_call_helper",
                bpf_jit_call_helper as *const () as usize,
            )],
        )?;
        emitter.set_shim(stencils::SHIM)?;
        emitter.reserve(starts.len())?;
        // With a budget: (the counted instruction, its real destination), one stub each.
        let mut stubs: Vec<(usize, u32)> = Vec::new();
        for &pc in &starts {
            let i = prog[pc];
            let group = group(i, access);
            let next = pc as i64 + 1;
            let destination = match i.opcode {
                op::JA32 => Some(next + i.imm as i64),
                op::CALL if i.src == 1 => Some(next + i.imm as i64),
                op::CALL | op::CALLX | op::EXIT => None,
                _ if matches!(i.class(), Class::Jmp | Class::Jmp32) => Some(next + i.off as i64),
                _ => None,
            };
            let operand0 = if i.opcode == op::LDDW {
                (i.imm as u32 as u64) | ((prog[pc + 1].imm as u32 as u64) << 32)
            } else if i.opcode == op::CALL {
                i.imm as u32 as u64
            } else {
                i.imm as i64 as u64
            };
            // The verifier keeps destinations inside the program and off lddw's second slot,
            // so each names the start of an instruction.
            let mut target = destination.map(|slot| index_of_slot[slot as usize]);
            let local_call = i.opcode == op::CALL;
            if let (Some(_), Some(to)) = (budget, target) {
                if local_call || to <= index_of_slot[pc] {
                    stubs.push((pc, to));
                    target = Some((starts.len() + stubs.len() - 1) as u32);
                }
            }
            emitter.push(Instruction {
                oparg: oparg(&i, pc),
                operand0,
                operand1: i.off as i64 as u64,
                jump_target: target.map(Destination::Instruction),
                ..Instruction::new(group)
            })?;
        }
        for &(pc, to) in &stubs {
            emitter.push(Instruction {
                oparg: oparg(&prog[pc], pc),
                jump_target: Some(Destination::Instruction(to)),
                ..Instruction::new(stencils::BUDGET)
            })?;
        }
        let code = emitter.finish(options)?;
        Ok(Jit {
            code,
            helpers,
            budget,
        })
    }

    /// Runs the machine code with `input` as the program's memory; returns r0 at the final
    /// `exit`, or the interpreter's error for the same fault.
    pub fn run(&self, input: &mut [u8]) -> Result<u64, ExecError> {
        let mut stack = vec![0u8; STACK_SIZE * MAX_CALL_DEPTH];
        let mut host = Host {
            helpers: &self.helpers,
            input: input.as_mut_ptr(),
            input_len: input.len(),
            stack: stack.as_mut_ptr(),
            stack_len: stack.len(),
            error: None,
            panic: None,
        };
        let (input_base, stack_base) = (host.input as u64, host.stack as u64);
        let mut vm = Vm {
            r: [0; 16],
            input_base,
            input_len: host.input_len as u64,
            stack_base,
            stack_len: host.stack_len as u64,
            depth: 0,
            ret: [0; MAX_CALL_DEPTH],
            saved: [[0; 4]; MAX_CALL_DEPTH],
            fault: 0,
            fault_pc: 0,
            fault_addr: 0,
            fault_size: 0,
            host: &mut host as *mut Host<'_> as *mut c_void,
            budget: self.budget.unwrap_or(0),
        };
        // No input is a null pointer, as in uBPF and the kernel (the interpreter's rule).
        vm.r[1] = if input.is_empty() { 0 } else { input_base };
        vm.r[2] = host.input_len as u64;
        vm.r[10] = stack_base + host.stack_len as u64;
        // SAFETY: the shim is `uint64_t _JIT_ENTRY(BpfVm *)` with the C ABI. The program was
        // verified; every memory access it makes is checked against the two regions, which
        // stay borrowed (through `host`) until it returns.
        let r0 = unsafe {
            let entry: extern "C" fn(*mut Vm) -> u64 = self.code.entry();
            entry(&mut vm)
        };
        if let Some(panic) = host.panic.take() {
            resume_unwind(panic);
        }
        let pc = vm.fault_pc as usize;
        match vm.fault {
            0 => Ok(r0),
            FAULT_LOAD | FAULT_STORE => Err(ExecError::OutOfBounds {
                pc,
                addr: vm.fault_addr,
                size: vm.fault_size as usize,
                write: vm.fault == FAULT_STORE,
            }),
            FAULT_DEPTH => Err(ExecError::CallDepthExceeded { pc }),
            FAULT_BUDGET => Err(ExecError::BudgetExhausted { pc }),
            _ => host.error.take().map_or(Ok(0), Err),
        }
    }
}
