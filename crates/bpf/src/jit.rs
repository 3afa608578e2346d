//! The copy-and-patch JIT tier: every verified instruction becomes a copy of one stencil
//! (`templates/*.c`, compiled by clang into the committed tables under `stencils/`), patched
//! with its registers, immediate, offset and branch destination. Semantics, memory checks and
//! errors are the interpreter's, so the two tiers can be compared result for result.
//!
//! ```
//! use patchjit_bpf::{asm::assemble, interp::Helpers, jit::Jit};
//! let program = assemble("mov %r0, 6\nmul %r0, 7\nexit").unwrap();
//! let jit = Jit::new(program, Helpers::conformance()).unwrap();
//! assert_eq!(jit.run(&mut []), Ok(42));
//! ```

use std::any::Any;
use std::ffi::c_void;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use patchjit::{Destination, EmitError, Emitter, ExecutableCode, Instruction, Options};

use crate::interp::{ExecError, Helpers, Memory, MAX_CALL_DEPTH, STACK_SIZE};
use crate::isa::RawInsn;
use crate::verifier::{verify, VerifyError};

/// The generated table: `STENCILS` and one index constant per template (`ADD64_IMM`...).
mod stencils {
    include!(concat!(env!("OUT_DIR"), "/stencils.rs"));
}

/// `BPF_FAULT_*` of `templates/bpf.h`, and one more for a helper that stopped the program.
const FAULT_LOAD: u64 = 1;
const FAULT_STORE: u64 = 2;
const FAULT_DEPTH: u64 = 3;
const FAULT_HELPER: u64 = 4;

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
}

// Offsets the compiled templates rely on (a mismatch with `BpfVm` would corrupt the state).
const _: () = assert!(std::mem::offset_of!(Vm, input_base) == 0x80);
const _: () = assert!(std::mem::offset_of!(Vm, fault) == 0x1e8);
const _: () = assert!(std::mem::offset_of!(Vm, host) == 0x208);

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
}

/// Stencils of an operation in its four forms, in the order of [`form`].
type Forms = [u16; 4];

/// Which of an ALU or jump operation's [`Forms`] an opcode selects: 64-bit immediate, 64-bit
/// register, 32-bit immediate, 32-bit register (ALU32 and JMP32 are classes 4 and 6).
fn form(opcode: u8) -> usize {
    ((opcode >> 3) & 1) as usize + 2 * usize::from(matches!(opcode & 7, 4 | 6))
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

/// The stencil for `i` (verified, so every opcode is known).
fn group(i: RawInsn) -> u16 {
    use stencils::*;
    let (op, form) = ((i.opcode >> 4) as usize, form(i.opcode));
    match i.opcode {
        0xd7 | 0xd4 | 0xdc => {
            let widths = match i.opcode {
                0xd7 => [BSWAP16, BSWAP32, BSWAP64],
                0xd4 => [LE16, LE32, LE64],
                _ => [BE16, BE32, BE64],
            };
            widths[match i.imm {
                16 => 0,
                32 => 1,
                _ => 2,
            }]
        }
        0xbf | 0xbc if i.off != 0 => match (i.opcode, i.off) {
            (0xbf, 8) => MOVSX64_8,
            (0xbf, 16) => MOVSX64_16,
            (0xbf, _) => MOVSX64_32,
            (_, 8) => MOVSX32_8,
            _ => MOVSX32_16,
        },
        // Division by an immediate 0: the templates' zero test cannot see an immediate (clang
        // takes `&_JIT_OPERAND0` for non-null and folds it away), so the division would trap.
        // The RFC's results instead, from stencils whose operand (the immediate) is 0:
        // quotient `mov dst, 0`, remainder `add dst, 0` (which cuts it to 32 bits in ALU32).
        _ if matches!(i.opcode & 0xf, 4 | 7) && matches!(op, 3 | 9) && i.imm == 0 => {
            match (op, form) {
                (3, 0) => MOV64_IMM,
                (3, _) => MOV32_IMM,
                (_, 0) => ADD64_IMM,
                _ => ADD32_IMM,
            }
        }
        _ if matches!(i.opcode & 7, 4 | 7) && i.off != 0 && op == 3 => SDIV[form],
        _ if matches!(i.opcode & 7, 4 | 7) && i.off != 0 && op == 9 => SMOD[form],
        _ if matches!(i.opcode & 7, 4 | 7) => ALU[op][form],
        0x18 => LDDW,
        // Through r10 the verifier has already bounded the access to the current frame.
        0x71 if i.src == 10 => LDX_B_FRAME,
        0x69 if i.src == 10 => LDX_H_FRAME,
        0x61 if i.src == 10 => LDX_W_FRAME,
        0x79 if i.src == 10 => LDX_DW_FRAME,
        0x91 if i.src == 10 => LDXS_B_FRAME,
        0x89 if i.src == 10 => LDXS_H_FRAME,
        0x81 if i.src == 10 => LDXS_W_FRAME,
        0x72 if i.dst == 10 => ST_B_FRAME,
        0x6a if i.dst == 10 => ST_H_FRAME,
        0x62 if i.dst == 10 => ST_W_FRAME,
        0x7a if i.dst == 10 => ST_DW_FRAME,
        0x73 if i.dst == 10 => STX_B_FRAME,
        0x6b if i.dst == 10 => STX_H_FRAME,
        0x63 if i.dst == 10 => STX_W_FRAME,
        0x7b if i.dst == 10 => STX_DW_FRAME,
        0x71 => LDX_B,
        0x69 => LDX_H,
        0x61 => LDX_W,
        0x79 => LDX_DW,
        0x91 => LDXS_B,
        0x89 => LDXS_H,
        0x81 => LDXS_W,
        0x72 => ST_B,
        0x6a => ST_H,
        0x62 => ST_W,
        0x7a => ST_DW,
        0x73 => STX_B,
        0x6b => STX_H,
        0x63 => STX_W,
        0x7b => STX_DW,
        0xc3 | 0xdb => {
            let pick = |wide: u16, narrow: u16| if i.opcode == 0xdb { wide } else { narrow };
            match i.imm {
                0x00 => pick(ATOMIC64_ADD, ATOMIC32_ADD),
                0x01 => pick(ATOMIC64_FETCH_ADD, ATOMIC32_FETCH_ADD),
                0x40 => pick(ATOMIC64_OR, ATOMIC32_OR),
                0x41 => pick(ATOMIC64_FETCH_OR, ATOMIC32_FETCH_OR),
                0x50 => pick(ATOMIC64_AND, ATOMIC32_AND),
                0x51 => pick(ATOMIC64_FETCH_AND, ATOMIC32_FETCH_AND),
                0xa0 => pick(ATOMIC64_XOR, ATOMIC32_XOR),
                0xa1 => pick(ATOMIC64_FETCH_XOR, ATOMIC32_FETCH_XOR),
                0xe1 => pick(ATOMIC64_XCHG, ATOMIC32_XCHG),
                _ => pick(ATOMIC64_CMPXCHG, ATOMIC32_CMPXCHG),
            }
        }
        0x05 | 0x06 => JA,
        0x85 if i.src == 1 => CALL_LOCAL,
        0x85 => CALL_HELPER,
        0x8d => CALLX,
        0x95 => EXIT,
        _ => JUMPS[op][form],
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
        verify(&prog).map_err(JitError::Verify)?;
        // One emitted instruction per eBPF instruction (lddw's two slots make one): the index
        // of the instruction starting at each slot.
        let mut index_of_slot = vec![0u32; prog.len() + 1];
        let mut starts = Vec::with_capacity(prog.len());
        let mut slot = 0;
        while slot < prog.len() {
            index_of_slot[slot] = starts.len() as u32;
            starts.push(slot);
            slot += if prog[slot].opcode == 0x18 { 2 } else { 1 };
        }
        let mut emitter = Emitter::new(
            &stencils::STENCILS,
            &[(
                "bpf_jit_call_helper",
                bpf_jit_call_helper as *const () as usize,
            )],
        )?;
        emitter.set_shim(stencils::SHIM)?;
        emitter.reserve(starts.len());
        for &pc in &starts {
            let i = prog[pc];
            let group = group(i);
            let next = pc as i64 + 1;
            let destination = match i.opcode {
                0x06 => Some(next + i.imm as i64),
                0x85 if i.src == 1 => Some(next + i.imm as i64),
                0x85 | 0x8d | 0x95 => None,
                op if op & 7 == 5 || op & 7 == 6 => Some(next + i.off as i64),
                _ => None,
            };
            let operand0 = if i.opcode == 0x18 {
                (i.imm as u32 as u64) | ((prog[pc + 1].imm as u32 as u64) << 32)
            } else if i.opcode == 0x85 {
                i.imm as u32 as u64
            } else {
                i.imm as i64 as u64
            };
            emitter.push(Instruction {
                oparg: (i.dst & 0xf) as u64 | ((i.src & 0xf) as u64) << 4 | (pc as u64) << 8,
                operand0,
                operand1: i.off as i64 as u64,
                // The verifier keeps destinations inside the program and off lddw's second
                // slot, so each names the start of an instruction.
                jump_target: destination
                    .map(|slot| Destination::Instruction(index_of_slot[slot as usize])),
                ..Instruction::new(group)
            })?;
        }
        let code = emitter.finish(options)?;
        Ok(Jit { code, helpers })
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
        };
        vm.r[1] = input_base;
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
            _ => host.error.take().map_or(Ok(0), Err),
        }
    }
}
