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

use std::sync::{Arc, OnceLock};

use patchjit::{
    CodeHeap, Destination, EmitError, Emitter, ExecutableCode, Instruction, Options, Placement,
};

use crate::isa::{opcode as op, AtomicOp, Class, RawInsn, ATOMIC_FETCH};
use crate::verifier::{verify_shape, VerifyError};
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
    stack_base: u64,
    input_room: [u64; 4],
    stack_room: [u64; 4],
    fault: u64,
    fault_pc: u64,
    fault_addr: u64,
    fault_size: u64,
    host: *mut c_void,
    budget: u64,
    call_id: u64,
    call_pc: u64,
    callx_id: u64,
    call_floor: u64,
    exit_sp: u64,
}

// Offsets the compiled templates rely on (a mismatch with `BpfVm` would corrupt the state).
const _: () = assert!(std::mem::offset_of!(Vm, input_base) == 0x80);
const _: () = assert!(std::mem::offset_of!(Vm, fault) == 0xd0);
const _: () = assert!(std::mem::offset_of!(Vm, host) == 0xf0);
const _: () = assert!(std::mem::offset_of!(Vm, call_pc) == 0x108);
const _: () = assert!(std::mem::offset_of!(Vm, call_floor) == 0x118);
const _: () = assert!(std::mem::offset_of!(Vm, exit_sp) == 0x120);

/// `*_room` of `templates/bpf.h`: for accesses of 1, 2, 4 and 8 bytes, how many addresses from
/// a region's base can start one (`len - n + 1`, or 0 when the region is shorter than `n`).
fn room(len: usize) -> [u64; 4] {
    [1, 2, 4, 8].map(|n| (len as u64 + 1).saturating_sub(n))
}

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

/// In `call_id` with a `call imm` whose helper was unknown when the program was compiled: the
/// low 32 bits are its id (it fails when reached). Otherwise `call_id` is a [`Helpers::slot`],
/// or [`CALLX`].
const BY_ID: u64 = 1 << 63;
/// In `call_id`: a `callx`, whose helper id is in `callx_id`.
const CALLX: u64 = u64::MAX;

/// Called by the `call_helper` and `callx` stencils with the helper's arguments (r1-r5; its
/// id and the caller's pc are in the state); returns r0, or sets `fault` when the program
/// must stop.
extern "C" fn bpf_jit_call_helper(r1: u64, r2: u64, r3: u64, r4: u64, r5: u64, vm: *mut Vm) -> u64 {
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
    let args = [r1, r2, r3, r4, r5];
    let (helpers, call, pc) = (host.helpers, vm.call_id, vm.call_pc as usize);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if call == CALLX {
            helpers.call(pc, vm.callx_id, &args, &mut memory)
        } else if call & BY_ID != 0 {
            helpers.call(pc, call & !BY_ID, &args, &mut memory)
        } else {
            helpers.call_slot(pc, call as usize, &args, &mut memory)
        }
    }));
    match outcome {
        Ok(Ok(Some(r0))) => return r0,
        Ok(Ok(None)) => {}
        Ok(Err(error)) => host.error = Some(error),
        Err(panic) => host.panic = Some(panic),
    }
    vm.fault = FAULT_HELPER;
    0
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

/// Bytes of the process's code heap: room for thousands of typical programs (a larger one
/// gets a mapping of its own). Mapped and faulted in when the first program is compiled.
const CODE_HEAP_SIZE: usize = 4 << 20;

/// The code heap [`Jit::new`] places programs in, shared by every thread; `None` where one
/// cannot be made (then each program gets a fresh mapping).
pub fn code_heap() -> Option<Arc<CodeHeap>> {
    static HEAP: OnceLock<Option<Arc<CodeHeap>>> = OnceLock::new();
    HEAP.get_or_init(|| CodeHeap::new(CODE_HEAP_SIZE).ok())
        .clone()
}

/// A verified program compiled to machine code.
pub struct Jit {
    code: ExecutableCode,
    helpers: Helpers,
    /// The budget of every run, when compiled with one ([`Jit::with_budget`]).
    budget: Option<u64>,
}

/// An ALU operation's stencils in its four forms, each indexed by register numbers (the
/// table's variant arrays): 64-bit immediate `[dst]`, 64-bit register `[dst][src]`, 32-bit
/// immediate, 32-bit register. r10 is never a destination (the verifier's rule).
type AluForms = (
    &'static [u16; 10],
    &'static [[u16; 11]; 10],
    &'static [u16; 10],
    &'static [[u16; 11]; 10],
);

/// A conditional jump's stencils in the same four forms (r10 may be compared).
type JumpForms = (
    &'static [u16; 11],
    &'static [[u16; 11]; 11],
    &'static [u16; 11],
    &'static [[u16; 11]; 11],
);

/// Which of an ALU or jump operation's forms an opcode selects: 64-bit immediate, 64-bit
/// register, 32-bit immediate, 32-bit register (ALU32 and JMP32 are classes 4 and 6).
fn form(i: RawInsn) -> usize {
    ((i.opcode >> 3) & 1) as usize + 2 * usize::from(matches!(i.class(), Class::Alu | Class::Jmp32))
}

/// ALU operations by `opcode >> 4` (`neg`, `end` and the shifts are chosen before; `div` and
/// `mod` with offset 1 are the signed ones; 11 is `mov`).
fn alu(operation: u8, signed: bool) -> AluForms {
    use stencils::*;
    match (operation, signed) {
        (0, _) => (&ADD64_IMM, &ADD64_REG, &ADD32_IMM, &ADD32_REG),
        (1, _) => (&SUB64_IMM, &SUB64_REG, &SUB32_IMM, &SUB32_REG),
        (2, _) => (&MUL64_IMM, &MUL64_REG, &MUL32_IMM, &MUL32_REG),
        (3, false) => (&DIV64_IMM, &DIV64_REG, &DIV32_IMM, &DIV32_REG),
        (3, true) => (&SDIV64_IMM, &SDIV64_REG, &SDIV32_IMM, &SDIV32_REG),
        (4, _) => (&OR64_IMM, &OR64_REG, &OR32_IMM, &OR32_REG),
        (5, _) => (&AND64_IMM, &AND64_REG, &AND32_IMM, &AND32_REG),
        (9, false) => (&MOD64_IMM, &MOD64_REG, &MOD32_IMM, &MOD32_REG),
        (9, true) => (&SMOD64_IMM, &SMOD64_REG, &SMOD32_IMM, &SMOD32_REG),
        (10, _) => (&XOR64_IMM, &XOR64_REG, &XOR32_IMM, &XOR32_REG),
        _ => (&MOV64_IMM, &MOV64_REG, &MOV32_IMM, &MOV32_REG),
    }
}

/// Conditional jumps by `opcode >> 4` (0, 8 and 9 are `ja`, `call` and `exit`, chosen before).
fn jump(operation: u8) -> JumpForms {
    use stencils::*;
    match operation {
        1 => (&JEQ64_IMM, &JEQ64_REG, &JEQ32_IMM, &JEQ32_REG),
        2 => (&JGT64_IMM, &JGT64_REG, &JGT32_IMM, &JGT32_REG),
        3 => (&JGE64_IMM, &JGE64_REG, &JGE32_IMM, &JGE32_REG),
        4 => (&JSET64_IMM, &JSET64_REG, &JSET32_IMM, &JSET32_REG),
        5 => (&JNE64_IMM, &JNE64_REG, &JNE32_IMM, &JNE32_REG),
        6 => (&JSGT64_IMM, &JSGT64_REG, &JSGT32_IMM, &JSGT32_REG),
        7 => (&JSGE64_IMM, &JSGE64_REG, &JSGE32_IMM, &JSGE32_REG),
        10 => (&JLT64_IMM, &JLT64_REG, &JLT32_IMM, &JLT32_REG),
        11 => (&JLE64_IMM, &JLE64_REG, &JLE32_IMM, &JLE32_REG),
        12 => (&JSLT64_IMM, &JSLT64_REG, &JSLT32_IMM, &JSLT32_REG),
        _ => (&JSLE64_IMM, &JSLE64_REG, &JSLE32_IMM, &JSLE32_REG),
    }
}

/// OPARG of `templates/bpf.h`: registers and the instruction index (for errors).
fn oparg(i: &RawInsn, pc: usize) -> u64 {
    (i.dst & 0xf) as u64 | ((i.src & 0xf) as u64) << 4 | (pc as u64) << 8
}

/// Bit `n - 6` set when `i` may write `rn`, n in 6..=9 (an atomic fetch counted as writing
/// its source, also `cmpxchg`'s, which writes r0: a harmless extra save).
fn writes_r6_to_r9(i: &RawInsn) -> u8 {
    let reg = match i.class() {
        Class::Alu | Class::Alu64 | Class::Ldx | Class::Ld => i.dst,
        Class::Stx
            if matches!(i.opcode, op::ATOMIC32 | op::ATOMIC64) && i.imm & ATOMIC_FETCH != 0 =>
        {
            i.src
        }
        _ => return 0,
    };
    if (6..=9).contains(&reg) {
        1 << (reg - 6)
    } else {
        0
    }
}

/// For each function of the verified `prog` (its first slots are `entries`: slot 0 and every
/// local-call target, up to the next one), which of r6-r9 its own instructions may write: what
/// a local call of it saves (`call_local`'s `SAVE` variant; the callee's callees restore what
/// they change themselves). Parallel to `entries`.
fn saved_by_callee(prog: &[RawInsn], entries: &[usize]) -> Vec<u8> {
    let mut saves = vec![0; entries.len()];
    let (mut f, mut pc) = (0, 0);
    while pc < prog.len() {
        while f + 1 < entries.len() && entries[f + 1] <= pc {
            f += 1;
        }
        saves[f] |= writes_r6_to_r9(&prog[pc]);
        pc += if prog[pc].opcode == op::LDDW { 2 } else { 1 };
    }
    saves
}

/// The index of the emitted instruction starting at each slot of a verified program (one per
/// eBPF instruction: lddw's two slots make one), from its `lddw` second slots: the slot itself
/// when there are none, so that most programs need no table.
enum Indices {
    Slots,
    Table(Vec<u32>),
}

impl Indices {
    fn new(len: usize, second_slots: &[usize]) -> Indices {
        if second_slots.is_empty() {
            return Indices::Slots;
        }
        let mut table = vec![0u32; len + 1];
        let mut skipped = 0;
        for (slot, index) in table.iter_mut().enumerate() {
            if second_slots.get(skipped) == Some(&slot) {
                skipped += 1;
            }
            // A second slot gets its lddw's successor's index; nothing names it.
            *index = (slot - skipped) as u32;
        }
        Indices::Table(table)
    }

    #[inline(always)]
    fn of(&self, slot: usize) -> u32 {
        match self {
            Indices::Slots => slot as u32,
            Indices::Table(table) => table[slot],
        }
    }
}

/// Whether loads, stores and atomics check their address ([`Jit::unchecked`] drops it); the
/// value is the index of the templates' `CHECKED` variant.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Unchecked = 0,
    Checked = 1,
}

/// x86-64: a checked load or store through another register than r10 tests the input inline
/// and jumps to the rest of its check when that fails: the same template's `CHECKED=2`
/// stencil, placed after the program, which goes on to the next instruction
/// (`templates/bpf.h`, `ACCESS_CHECK`).
const REST_OF_CHECK: usize = 2;

/// Whether this target's code leaves for stencils placed after the program where it would
/// otherwise jump around cold code: the rest of a split check ([`REST_OF_CHECK`]), a local
/// call's `call_local_fault`. Elsewhere each check and call is whole.
const OUT_OF_LINE: bool = cfg!(target_arch = "x86_64");

/// Whether `i` (whose [`VARIANTS`] entry is `v`) is a load or store (not an atomic) whose
/// address is checked: a split check on x86-64 ([`REST_OF_CHECK`]). Through r10 nothing is
/// checked.
fn split_check(v: &Variants, i: &RawInsn) -> bool {
    match v.address {
        Some(Reg::Src) => i.src != 10,
        Some(Reg::Dst) => i.dst != 10,
        None => false,
    }
}

/// Where an opcode's stencil sits in the table's variant arrays when it depends only on the
/// registers, the `CHECKED` variant and (immediate shifts) the count: the array flattened, with
/// a stride per index (0 for an index the opcode does not have). One load from [`VARIANTS`]
/// and one from the array find the stencil of most instructions, where [`group`] takes a
/// match or three.
#[derive(Clone, Copy)]
struct Variants {
    groups: &'static [u16],
    checked: u16,
    dst: u16,
    src: u16,
    /// The immediate's bits that select the variant (a shift's count).
    count: u16,
    /// Whether a non-zero offset selects another template (`sdiv`/`smod`, `movsx`): then
    /// [`group`] decides.
    off_selects: bool,
    /// Whether the template takes the immediate's 32 bits (`IMM32`, unsigned) as operand 0,
    /// rather than the immediate sign-extended.
    imm32: bool,
    /// Which field holds a branch's offset (`call` decides by its `src`).
    branch: BranchField,
    /// For a load or store with a split check ([`split_check`]): the address register.
    address: Option<Reg>,
    /// Whether the instruction takes [`Walk::general`] whatever the mode: `call` (its
    /// helper or callee decides) and `lddw` (two slots).
    general: bool,
    /// A division or remainder by an immediate, which [`by_constant`] looks at first.
    divides: bool,
}

/// Where a jump's offset is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BranchField {
    None,
    Off,
    Imm,
}

/// An instruction's register field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reg {
    Dst,
    Src,
}

impl Variants {
    const NONE: Variants = Variants {
        groups: &[],
        checked: 0,
        dst: 0,
        src: 0,
        count: 0,
        off_selects: false,
        imm32: false,
        branch: BranchField::None,
        address: None,
        general: false,
        divides: false,
    };

    /// What an opcode's class and number say of its operand, branch and address (the rules
    /// of [`form`], [`split_check`] and the destinations, ahead of time).
    const fn roles(self, opcode: u8) -> Variants {
        let class = opcode & 7;
        let (alu32, jmp, jmp32, ldx, st, stx) = (4, 5, 6, 1, 2, 3);
        let atomic = opcode == op::ATOMIC32 || opcode == op::ATOMIC64;
        Variants {
            imm32: class == alu32
                || class == jmp32
                || opcode == op::ST_B
                || opcode == op::ST_H
                || opcode == op::ST_W,
            branch: match opcode {
                op::JA32 => BranchField::Imm,
                op::CALL | op::CALLX | op::EXIT => BranchField::None,
                _ if class == jmp || class == jmp32 => BranchField::Off,
                _ => BranchField::None,
            },
            general: opcode == op::CALL || opcode == op::LDDW,
            divides: matches!(
                opcode,
                op::DIV64_IMM | op::DIV32_IMM | op::MOD64_IMM | op::MOD32_IMM
            ),
            address: if class == ldx {
                Some(Reg::Src)
            } else if class == st || (class == stx && !atomic) {
                Some(Reg::Dst)
            } else {
                None
            },
            ..self
        }
    }

    const fn dst<const D: usize>(groups: &'static [u16; D]) -> Variants {
        Variants {
            groups,
            dst: 1,
            ..Variants::NONE
        }
    }

    const fn dst_src<const D: usize>(groups: &'static [[u16; 11]; D]) -> Variants {
        Variants {
            groups: groups.as_flattened(),
            dst: 11,
            src: 1,
            ..Variants::NONE
        }
    }

    const fn dst_count<const N: usize>(groups: &'static [[u16; N]; 10]) -> Variants {
        Variants {
            groups: groups.as_flattened(),
            dst: N as u16,
            count: N as u16 - 1,
            ..Variants::NONE
        }
    }

    const fn checked_dst(groups: &'static [[u16; 11]; 3]) -> Variants {
        Variants {
            groups: groups.as_flattened(),
            checked: 11,
            dst: 1,
            ..Variants::NONE
        }
    }

    const fn checked_dst_src<const D: usize>(groups: &'static [[[u16; 11]; D]; 3]) -> Variants {
        Variants {
            groups: groups.as_flattened().as_flattened(),
            checked: D as u16 * 11,
            dst: 11,
            src: 1,
            ..Variants::NONE
        }
    }

    const fn off_selects(self) -> Variants {
        Variants {
            off_selects: true,
            ..self
        }
    }
}

/// [`Variants`] by opcode, with every opcode's roles; no `groups` where [`group`] decides
/// alone.
static VARIANTS: [Variants; 256] = {
    use stencils::*;
    let mut v = [Variants::NONE; 256];
    macro_rules! by {
        ($how:ident: $($name:ident)*) => {
            $(v[op::$name as usize] = Variants::$how(&$name);)*
        };
    }
    by!(dst: ADD64_IMM SUB64_IMM MUL64_IMM OR64_IMM AND64_IMM XOR64_IMM MOV64_IMM
        ADD32_IMM SUB32_IMM MUL32_IMM OR32_IMM AND32_IMM XOR32_IMM MOV32_IMM
        DIV64_IMM DIV32_IMM MOD64_IMM MOD32_IMM NEG64 NEG32 LDDW
        JEQ64_IMM JGT64_IMM JGE64_IMM JSET64_IMM JNE64_IMM JSGT64_IMM JSGE64_IMM
        JLT64_IMM JLE64_IMM JSLT64_IMM JSLE64_IMM
        JEQ32_IMM JGT32_IMM JGE32_IMM JSET32_IMM JNE32_IMM JSGT32_IMM JSGE32_IMM
        JLT32_IMM JLE32_IMM JSLT32_IMM JSLE32_IMM);
    by!(dst_src: ADD64_REG SUB64_REG MUL64_REG OR64_REG AND64_REG XOR64_REG MOV64_REG
        ADD32_REG SUB32_REG MUL32_REG OR32_REG AND32_REG XOR32_REG MOV32_REG
        DIV64_REG DIV32_REG MOD64_REG MOD32_REG
        LSH64_REG RSH64_REG ARSH64_REG LSH32_REG RSH32_REG ARSH32_REG
        JEQ64_REG JGT64_REG JGE64_REG JSET64_REG JNE64_REG JSGT64_REG JSGE64_REG
        JLT64_REG JLE64_REG JSLT64_REG JSLE64_REG
        JEQ32_REG JGT32_REG JGE32_REG JSET32_REG JNE32_REG JSGT32_REG JSGE32_REG
        JLT32_REG JLE32_REG JSLT32_REG JSLE32_REG);
    by!(dst_count: LSH64_IMM RSH64_IMM ARSH64_IMM LSH32_IMM RSH32_IMM ARSH32_IMM);
    by!(checked_dst: ST_B ST_H ST_W ST_DW);
    by!(checked_dst_src: LDX_B LDX_H LDX_W LDX_DW LDXS_B LDXS_H LDXS_W
        STX_B STX_H STX_W STX_DW);
    let signed_or_sign_extending = [
        op::DIV64_IMM,
        op::DIV64_REG,
        op::DIV32_IMM,
        op::DIV32_REG,
        op::MOD64_IMM,
        op::MOD64_REG,
        op::MOD32_IMM,
        op::MOD32_REG,
        op::MOV64_REG,
        op::MOV32_REG,
    ];
    let mut k = 0;
    while k < signed_or_sign_extending.len() {
        let opcode = signed_or_sign_extending[k] as usize;
        v[opcode] = v[opcode].off_selects();
        k += 1;
    }
    let mut opcode = 0;
    while opcode < 256 {
        v[opcode] = v[opcode].roles(opcode as u8);
        opcode += 1;
    }
    v
};

/// [`group`] through `v`, `i`'s entry of [`VARIANTS`], where it has the variants.
#[inline(always)]
fn fast_group(v: &Variants, i: RawInsn, checked: usize, saves: u8) -> u16 {
    if v.groups.is_empty() || (v.off_selects && i.off != 0) {
        return group(i, checked, saves);
    }
    let index = checked * v.checked as usize
        + i.dst as usize * v.dst as usize
        + i.src as usize * v.src as usize
        + (i.imm as u32 & u32::from(v.count)) as usize;
    v.groups[index]
}

/// The stencil for `i` (verified, so every opcode is known and every register number is in
/// range for its role); `checked`: the templates' `CHECKED` variant for loads, stores and
/// atomics (an [`Access`], or [`REST_OF_CHECK`] for a load or store); `saves`: for a local
/// call, the callee's [`saved_by_callee`] mask.
fn group(i: RawInsn, checked: usize, saves: u8) -> u16 {
    use stencils::*;
    let (d, s, c) = (i.dst as usize, i.src as usize, checked);
    let is_alu = matches!(i.class(), Class::Alu | Class::Alu64);
    match i.opcode {
        op::BSWAP | op::LE | op::BE => {
            let widths = match i.opcode {
                op::BSWAP => [&BSWAP16, &BSWAP32, &BSWAP64],
                op::LE => [&LE16, &LE32, &LE64],
                _ => [&BE16, &BE32, &BE64],
            };
            widths[match i.imm {
                16 => 0,
                32 => 1,
                _ => 2,
            }][d]
        }
        op::NEG64 => NEG64[d],
        op::NEG32 => NEG32[d],
        op::MOV64_REG | op::MOV32_REG if i.off != 0 => match (i.opcode, i.off) {
            (op::MOV64_REG, 8) => MOVSX64_8[d][s],
            (op::MOV64_REG, 16) => MOVSX64_16[d][s],
            (op::MOV64_REG, _) => MOVSX64_32[d][s],
            (_, 8) => MOVSX32_8[d][s],
            _ => MOVSX32_16[d][s],
        },
        // Shifts by an immediate: the count is a variant of the stencil.
        op::LSH64_IMM => LSH64_IMM[d][(i.imm & 63) as usize],
        op::RSH64_IMM => RSH64_IMM[d][(i.imm & 63) as usize],
        op::ARSH64_IMM => ARSH64_IMM[d][(i.imm & 63) as usize],
        op::LSH32_IMM => LSH32_IMM[d][(i.imm & 31) as usize],
        op::RSH32_IMM => RSH32_IMM[d][(i.imm & 31) as usize],
        op::ARSH32_IMM => ARSH32_IMM[d][(i.imm & 31) as usize],
        op::LSH64_REG => LSH64_REG[d][s],
        op::RSH64_REG => RSH64_REG[d][s],
        op::ARSH64_REG => ARSH64_REG[d][s],
        op::LSH32_REG => LSH32_REG[d][s],
        op::RSH32_REG => RSH32_REG[d][s],
        op::ARSH32_REG => ARSH32_REG[d][s],
        _ if is_alu => {
            let (imm64, reg64, imm32, reg32) = alu(i.opcode >> 4, i.off != 0);
            match form(i) {
                0 => imm64[d],
                1 => reg64[d][s],
                2 => imm32[d],
                _ => reg32[d][s],
            }
        }
        op::LDDW => LDDW[d],
        op::LDX_B => LDX_B[c][d][s],
        op::LDX_H => LDX_H[c][d][s],
        op::LDX_W => LDX_W[c][d][s],
        op::LDX_DW => LDX_DW[c][d][s],
        op::LDXS_B => LDXS_B[c][d][s],
        op::LDXS_H => LDXS_H[c][d][s],
        op::LDXS_W => LDXS_W[c][d][s],
        op::ST_B => ST_B[c][d],
        op::ST_H => ST_H[c][d],
        op::ST_W => ST_W[c][d],
        op::ST_DW => ST_DW[c][d],
        op::STX_B => STX_B[c][d][s],
        op::STX_H => STX_H[c][d][s],
        op::STX_W => STX_W[c][d][s],
        op::STX_DW => STX_DW[c][d][s],
        op::ATOMIC32 | op::ATOMIC64 => {
            let fetch = i.imm & ATOMIC_FETCH != 0;
            // Verified: imm names one of the operations.
            let operation = AtomicOp::ALL
                .into_iter()
                .find(|o| o.code() & !ATOMIC_FETCH == i.imm & !ATOMIC_FETCH);
            let (wide, narrow) = match (operation, fetch) {
                (Some(AtomicOp::Add), false) => (&ATOMIC64_ADD, &ATOMIC32_ADD),
                (Some(AtomicOp::Add), true) => (&ATOMIC64_FETCH_ADD, &ATOMIC32_FETCH_ADD),
                (Some(AtomicOp::Or), false) => (&ATOMIC64_OR, &ATOMIC32_OR),
                (Some(AtomicOp::Or), true) => (&ATOMIC64_FETCH_OR, &ATOMIC32_FETCH_OR),
                (Some(AtomicOp::And), false) => (&ATOMIC64_AND, &ATOMIC32_AND),
                (Some(AtomicOp::And), true) => (&ATOMIC64_FETCH_AND, &ATOMIC32_FETCH_AND),
                (Some(AtomicOp::Xor), false) => (&ATOMIC64_XOR, &ATOMIC32_XOR),
                (Some(AtomicOp::Xor), true) => (&ATOMIC64_FETCH_XOR, &ATOMIC32_FETCH_XOR),
                (Some(AtomicOp::Xchg), _) => (&ATOMIC64_XCHG, &ATOMIC32_XCHG),
                _ => (&ATOMIC64_CMPXCHG, &ATOMIC32_CMPXCHG),
            };
            if i.opcode == op::ATOMIC64 {
                wide[c]
            } else {
                narrow[c]
            }
        }
        op::JA | op::JA32 => JA,
        op::CALL if i.src == 1 => CALL_LOCAL[saves as usize],
        op::CALL => CALL_HELPER,
        op::CALLX => CALLX[d],
        op::EXIT => EXIT,
        _ => {
            let (imm64, reg64, imm32, reg32) = jump(i.opcode >> 4);
            match form(i) {
                0 => imm64[d],
                1 => reg64[d][s],
                2 => imm32[d],
                _ => reg32[d][s],
            }
        }
    }
}

/// `i`, a division or remainder by an immediate ([`Variants::divides`]; nothing else may come
/// here), as the instruction RFC 9669 makes it equal to when the stencils cannot take its
/// divisor (they assume it is not 0, nor -1 when signed: `DIVISOR` in `templates/bpf.h`), else
/// as it is. By 0: `div` and `sdiv` give 0, `mod` and `smod` leave dst (zero-extended in 32
/// bits); by -1: `sdiv` negates (wrapping), `smod` gives 0. The compile loop applies it before
/// choosing a path, and [`Walk::general`] never takes a division.
fn by_constant(i: RawInsn) -> RawInsn {
    let (mov_imm, mov_reg, neg) = if i.class() == Class::Alu64 {
        (op::MOV64_IMM, op::MOV64_REG, op::NEG64)
    } else {
        (op::MOV32_IMM, op::MOV32_REG, op::NEG32)
    };
    let (division, signed) = (i.opcode & 0xf0 == op::DIV64_IMM & 0xf0, i.off != 0);
    match i.imm {
        0 if division => RawInsn::new(mov_imm, i.dst, 0, 0, 0),
        0 => RawInsn::new(mov_reg, i.dst, i.dst, 0, 0),
        -1 if signed && division => RawInsn::new(neg, i.dst, 0, 0, 0),
        -1 if signed => RawInsn::new(mov_imm, i.dst, 0, 0, 0),
        _ => i,
    }
}

/// Operand 0 of `i` (one slot; `lddw` and calls take theirs apart): its immediate as 32 bits
/// or sign-extended, by [`Variants::imm32`].
#[inline(always)]
fn immediate(v: &Variants, i: &RawInsn) -> u64 {
    if v.imm32 {
        i.imm as u32 as u64
    } else {
        i.imm as i64 as u64
    }
}

/// The slot `i`, at slot `pc`, branches to, by [`Variants::branch`].
#[inline(always)]
fn branch_slot(v: &Variants, i: &RawInsn, pc: usize) -> Option<i64> {
    let next = pc as i64 + 1;
    match v.branch {
        BranchField::None => None,
        BranchField::Off => Some(next + i.off as i64),
        BranchField::Imm => Some(next + i.imm as i64),
    }
}

/// What `Jit::compile`'s walk over a verified program reads and builds beside the emitter:
/// the general path ([`Walk::general`]) takes it, out of the loop that most instructions
/// take, so that loop keeps its few values in registers.
struct Walk<'p> {
    prog: &'p [RawInsn],
    index_of_slot: Indices,
    /// Emitted instructions of the program itself (the stubs come after them).
    instructions: usize,
    /// Placed after the program: with a budget, one `budget` stencil per counted jump or
    /// call; on x86-64, the rest of each split check and each local call's fault.
    stubs: Vec<Instruction>,
    /// Per function, what a local call of it saves ([`saved_by_callee`]); empty without
    /// local calls.
    callee_saves: Vec<u8>,
    entries: &'p [usize],
    helpers: &'p Helpers,
    budget: Option<u64>,
    access: Access,
    /// `call_plain`'s `SAVE` variant, found at the first plain helper call.
    plain_saves: Option<u8>,
}

impl Walk<'_> {
    /// Which of r8 and r9 (bits 0 and 1) the program names anywhere: what a plain helper call
    /// keeps across the C call on x86-64, where they are in registers C does not preserve
    /// (`templates/call_plain.c`). A register the program never names is never read.
    fn plain_call_saves(saves: &mut Option<u8>, prog: &[RawInsn]) -> u8 {
        *saves.get_or_insert_with(|| {
            let named = prog
                .iter()
                .fold(0u16, |m, i| m | 1 << (i.dst & 0xf) | 1 << (i.src & 0xf));
            ((named >> 8) & 3) as u8
        })
    }

    /// Emits the instruction at slot `pc` with everything an instruction may need (calls,
    /// `lddw`, budgeted branches, split checks and their stubs); returns the next slot.
    #[inline(never)]
    fn general(&mut self, emitter: &mut Emitter<'_>, pc: usize) -> Result<usize, JitError> {
        let (prog, index_of_slot, instructions) =
            (self.prog, &self.index_of_slot, self.instructions);
        let i = prog[pc];
        let v = &VARIANTS[i.opcode as usize];
        let next = pc as i64 + 1;
        let (stencil, operand0, destination) = if i.opcode == op::CALL && i.src == 1 {
            // Verified: the callee is a function's first slot.
            let callee = next + i.imm as i64;
            let saves = self.callee_saves[self.entries.partition_point(|&s| s < callee as usize)];
            (group(i, 0, saves), i.imm as i64 as u64, Some(callee))
        } else if i.opcode == op::CALL {
            // A helper call's helper, looked up once: a plain one is called straight from
            // the machine code, another by its slot; an unknown one fails when reached.
            let id = i.imm as u32 as u64;
            let slot = self.helpers.slot(id);
            match slot.and_then(|slot| self.helpers.plain(slot)) {
                Some(f) => (
                    stencils::CALL_PLAIN
                        [Walk::plain_call_saves(&mut self.plain_saves, prog) as usize],
                    f as usize as u64,
                    None,
                ),
                None => (
                    stencils::CALL_HELPER,
                    slot.map_or(id | BY_ID, |slot| slot as u64),
                    None,
                ),
            }
        } else {
            let operand0 = if i.opcode == op::LDDW {
                (i.imm as u32 as u64) | ((prog[pc + 1].imm as u32 as u64) << 32)
            } else {
                immediate(v, &i)
            };
            (
                fast_group(v, i, self.access as usize, 0),
                operand0,
                branch_slot(v, &i, pc),
            )
        };
        // The verifier keeps destinations inside the program and off lddw's second slot,
        // so each names the start of an instruction.
        let mut target = destination.map(|slot| index_of_slot.of(slot as usize));
        let local_call = i.opcode == op::CALL;
        // The index of the next stub placed after the program.
        let stubs = &mut self.stubs;
        let stub = |stubs: &Vec<Instruction>| (instructions + stubs.len()) as u32;
        if let (Some(_), Some(to)) = (self.budget, target) {
            if local_call || to <= index_of_slot.of(pc) {
                target = Some(stub(stubs));
                stubs.push(Instruction {
                    oparg: oparg(&i, pc),
                    jump_target: Some(Destination::Instruction(to)),
                    ..Instruction::new(stencils::BUDGET)
                });
            }
        }
        let mut this = Instruction {
            oparg: oparg(&i, pc),
            operand0,
            operand1: i.off as i64 as u64,
            jump_target: target.map(Destination::Instruction),
            ..Instruction::new(stencil)
        };
        if OUT_OF_LINE && self.access == Access::Checked && split_check(v, &i) {
            this.error_target = Some(Destination::Instruction(stub(stubs)));
            // A load or store is never last (the verifier's rule): pc + 1 starts one.
            stubs.push(Instruction {
                group: fast_group(v, i, REST_OF_CHECK, 0),
                jump_target: Some(Destination::Instruction(index_of_slot.of(pc + 1))),
                error_target: None,
                ..this
            });
        } else if OUT_OF_LINE && local_call && i.src == 1 {
            this.error_target = Some(Destination::Instruction(stub(stubs)));
            stubs.push(Instruction {
                oparg: this.oparg,
                ..Instruction::new(stencils::CALL_LOCAL_FAULT)
            });
        }
        emitter.push(this)?;
        Ok(pc + if i.opcode == op::LDDW { 2 } else { 1 })
    }
}

impl Jit {
    /// Verifies `prog` and compiles it into the process's code heap ([`code_heap`]: no system
    /// call per program); `helpers` serve its `call`s when it runs.
    pub fn new(prog: Vec<RawInsn>, helpers: Helpers) -> Result<Jit, JitError> {
        let options = Options {
            placement: code_heap().map_or(Placement::Anywhere, Placement::Heap),
            ..Options::default()
        };
        Jit::with_options(prog, helpers, &options)
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
        let shape = verify_shape(&prog).map_err(JitError::Verify)?;
        let instructions = prog.len() - shape.second_slots.len();
        let mut emitter = Emitter::new(
            &stencils::STENCILS,
            &[(
                "bpf_jit_call_helper",
                bpf_jit_call_helper as *const () as usize,
            )],
        )?;
        emitter.set_shim(stencils::SHIM)?;
        emitter.reserve(instructions)?;
        let mut walk = Walk {
            prog: &prog,
            index_of_slot: Indices::new(prog.len(), &shape.second_slots),
            instructions,
            stubs: Vec::new(),
            // Only local calls need the callees' saves.
            callee_saves: if shape.entries.len() > 1 {
                saved_by_callee(&prog, &shape.entries)
            } else {
                Vec::new()
            },
            entries: &shape.entries,
            helpers: &helpers,
            budget,
            access,
            plain_saves: None,
        };
        // Whether an instruction with a branch takes the general path (a budget counts
        // backward jumps there).
        let branches_general = budget.is_some();
        // The next loop head, to align (`Emitter::align_loop_head`).
        let heads = &shape.loop_heads[..];
        let mut head = 0;
        let mut next_head = heads.first().copied().unwrap_or(usize::MAX);
        let mut pc = 0;
        while pc < prog.len() {
            if pc == next_head {
                emitter.align_loop_head()?;
                head += 1;
                next_head = heads.get(head).copied().unwrap_or(usize::MAX);
            }
            let mut i = prog[pc];
            let mut v = &VARIANTS[i.opcode as usize];
            if v.divides {
                i = by_constant(i);
                v = &VARIANTS[i.opcode as usize];
            }
            if v.general
                || (branches_general && v.branch != BranchField::None)
                || (OUT_OF_LINE && access == Access::Checked && split_check(v, &i))
            {
                pc = walk.general(&mut emitter, pc)?;
                continue;
            }
            // One slot, no stub: the registers, immediate, offset and branch are the
            // instruction's fields.
            emitter.push(Instruction {
                oparg: oparg(&i, pc),
                operand0: immediate(v, &i),
                operand1: i.off as i64 as u64,
                // The verifier keeps destinations inside the program and off lddw's second
                // slot, so each names the start of an instruction.
                jump_target: branch_slot(v, &i, pc)
                    .map(|slot| Destination::Instruction(walk.index_of_slot.of(slot as usize))),
                ..Instruction::new(fast_group(v, i, access as usize, 0))
            })?;
            pc += 1;
        }
        for stub in walk.stubs {
            emitter.push(stub)?;
        }
        let code = emitter.finish(options)?;
        Ok(Jit {
            code,
            helpers,
            budget,
        })
    }

    /// The machine code, one block per emitted instruction (named `patchjit:N:GROUP`, N
    /// counting eBPF instructions, lddw as one, then the stubs placed after the program), to
    /// see what a program compiles to.
    #[cfg(feature = "disassemble")]
    pub fn disassemble(&self) -> String {
        self.code.disassemble()
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
            stack_base,
            input_room: room(host.input_len),
            stack_room: room(host.stack_len),
            fault: 0,
            fault_pc: 0,
            fault_addr: 0,
            fault_size: 0,
            host: &mut host as *mut Host<'_> as *mut c_void,
            budget: self.budget.unwrap_or(0),
            call_id: 0,
            call_pc: 0,
            callx_id: 0,
            call_floor: stack_base + 2 * STACK_SIZE as u64,
            exit_sp: 0,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::verify;

    /// `call_local`'s and `call_plain`'s asm align the stack for the callee by a static pad,
    /// which holds only if nothing moved the stack pointer before it: every variant starts
    /// with the asm's first instruction, `cmp r13, [r12 + call_floor]` and `movabs rax, f`.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn calls_start_with_their_asm() {
        let starts = |groups: &[u16], first: &[u8]| {
            for &g in groups {
                let group = &stencils::STENCILS.groups[g as usize];
                assert_eq!(&group.code.body[..first.len()], first, "{}", group.name);
            }
        };
        starts(&stencils::CALL_LOCAL, &[0x4d, 0x3b, 0xac, 0x24]);
        starts(&stencils::CALL_PLAIN, &[0x48, 0xb8]);
    }

    /// The opcode table finds the stencil `group` does for every verified instruction it
    /// covers, in every `CHECKED` variant a load or store can ask for.
    #[test]
    fn the_variant_table_agrees_with_group() {
        let mut covered = 0;
        for opcode in 0..=255u8 {
            if VARIANTS[opcode as usize].groups.is_empty() {
                continue;
            }
            for dst in 0..=10 {
                for src in 0..=10 {
                    for off in [0, 1, -8, 8, 16, 32] {
                        for imm in [0, 1, 5, 16, 31, 32, 63, 64, -1] {
                            let i = RawInsn::new(opcode, dst, src, off, imm);
                            let mut prog = vec![i];
                            if opcode == op::LDDW {
                                prog.push(RawInsn::new(0, 0, 0, 0, 0));
                            }
                            prog.extend([RawInsn::new(op::EXIT, 0, 0, 0, 0); 2]);
                            if verify(&prog).is_err() {
                                continue;
                            }
                            for checked in 0..3 {
                                let v = &VARIANTS[opcode as usize];
                                if checked == REST_OF_CHECK && !split_check(v, &i) {
                                    continue;
                                }
                                assert_eq!(
                                    fast_group(v, i, checked, 0),
                                    group(i, checked, 0),
                                    "{i:?}, checked {checked}"
                                );
                                covered += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(covered > 10_000, "{covered} instructions compared");
    }
}
