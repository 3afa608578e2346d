//! The workload of `patchjit bench emit` and of the criterion bench `benches/emit.rs`: a small
//! embedded x86-64 stencil table (no clang needed to run it) and straight-line programs over it
//! whose result is known, so a wrong emitter cannot report a time.

use patchjit::{
    Destination, EmitError, Emitter, Hole, HoleValue, Instruction, Options, PatchKind, Stencil,
    StencilGroup, StencilTable,
};

/// Runs the program once and compares its result with the reference computation.
#[cfg(target_arch = "x86_64")]
pub fn check(emitter: Emitter<'static>, expected: (i64, i64)) -> Result<(), String> {
    let code = emitter
        .finish(&Options::default())
        .map_err(|e| e.to_string())?;
    let mut state = [0i64; 2];
    // SAFETY: the shim is `int64_t shim(State *)` with the C ABI (see the table below).
    let f: extern "C" fn(*mut [i64; 2]) -> i64 = unsafe { code.entry() };
    let acc = f(&mut state);
    if (acc, state[0]) != expected {
        return Err(format!(
            "emitted program returned {:?}, expected {expected:?}",
            (acc, state[0])
        ));
    }
    Ok(())
}

#[cfg(not(target_arch = "x86_64"))]
pub fn check(_: Emitter<'static>, _: (i64, i64)) -> Result<(), String> {
    Err("`bench emit` runs its x86-64 stencils and needs an x86-64 host".into())
}

/// The Rust helper `call_helper` calls (resolve it as `helper`).
pub extern "C" fn helper(x: i64) -> i64 {
    x.wrapping_mul(3).wrapping_add(1) % 1000
}

/// A straight-line program cycling through every group, with the `(acc, sum)` it must produce.
pub fn synthesize(n: usize) -> (Vec<Instruction>, (i64, i64)) {
    let mut program = Vec::with_capacity(n);
    let (mut acc, mut sum) = (0i64, 0i64);
    for i in 0..n {
        let operand = (i % 97) as i64 + 1;
        let group = CYCLE[i % CYCLE.len()];
        let mut instruction = Instruction {
            operand0: operand as u64,
            ..Instruction::new(group)
        };
        match group {
            LOAD => acc = operand,
            ADD => acc += operand,
            ACCUMULATE => sum += acc,
            LOAD_SUM => acc = sum,
            LOOKUP => acc = SQUARES[(acc & 7) as usize],
            CALL_HELPER => acc = helper(acc),
            DEC_JUMP_NONZERO => {
                acc -= 1;
                // Forward to the next instruction: both paths continue there.
                instruction.jump_target = Some(Destination::Instruction(i as u32 + 1));
            }
            ERROR_IF_NEGATIVE => {
                instruction.error_target = Some(Destination::Instruction(i as u32 + 1))
            }
            _ => unreachable!("CYCLE only holds the groups above"),
        }
        program.push(instruction);
    }
    if let Some(last) = program.last_mut() {
        // The last instruction's "next" is the terminator, which has no index: retarget.
        if last.jump_target.is_some() || last.error_target.is_some() {
            *last = Instruction {
                operand0: last.operand0,
                ..Instruction::new(LOAD)
            };
            acc = last.operand0 as i64;
        }
    }
    (program, (acc, sum))
}

/// The C-ABI entry group.
pub const SHIM: u16 = 0;
const LOAD: u16 = 1;
const ADD: u16 = 2;
const ACCUMULATE: u16 = 3;
const LOAD_SUM: u16 = 4;
const DEC_JUMP_NONZERO: u16 = 5;
const ERROR_IF_NEGATIVE: u16 = 6;
const CALL_HELPER: u16 = 7;
const LOOKUP: u16 = 8;
/// The terminator group.
pub const RET: u16 = 9;

const CYCLE: [u16; 9] = [
    LOAD,
    ADD,
    ACCUMULATE,
    LOOKUP,
    CALL_HELPER,
    ERROR_IF_NEGATIVE,
    DEC_JUMP_NONZERO,
    ADD,
    ACCUMULATE,
];

const SQUARES: [i64; 8] = [0, 1, 4, 9, 16, 25, 36, 49];

const fn hole(
    offset: u32,
    patch: PatchKind,
    value: HoleValue,
    symbol: Option<u16>,
    addend: i64,
) -> Hole {
    Hole {
        offset,
        patch,
        value,
        symbol,
        addend,
    }
}

const fn code(len: u32, body: &'static [u8], holes: &'static [Hole]) -> Stencil {
    Stencil { len, body, holes }
}

const NO_DATA: Stencil = Stencil {
    len: 0,
    body: &[],
    holes: &[],
};

const SQUARES_BYTES: [u8; 64] = {
    let mut bytes = [0u8; 64];
    let mut i = 0;
    while i < 8 {
        bytes[i * 8] = SQUARES[i] as u8;
        i += 1;
    }
    bytes
};

/// Stencils of `crates/runtime/tests/templates/{shim,load,add,...}.c` as clang 19 compiles them
/// for x86_64-unknown-linux-gnu (`-O3 -fno-pic -mcmodel=medium -mlarge-data-threshold=0
/// -fno-plt`), after CPython's post-processing: trailing `jmp _JIT_CONTINUE` removed, trailing
/// zero bytes left out of `body`, GOT slots appended to the data. Registers: r12 = state,
/// r13 = accumulator.
static GROUPS: [StencilGroup; 10] = [
    StencilGroup {
        name: "shim",
        data_align: 8,
        code: code(
            30,
            &[
                0x41, 0x57, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54, 0x53, 0x49, 0x89, 0xfc, 0x45, 0x31,
                0xed, 0xe8, 0, 0, 0, 0, 0x5b, 0x41, 0x5c, 0x41, 0x5d, 0x41, 0x5e, 0x41, 0x5f, 0xc3,
            ],
            &[hole(0x10, PatchKind::Rel32, HoleValue::Continue, None, -4)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "load",
        data_align: 8,
        code: code(
            10,
            &[0x49, 0xbd],
            &[hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "add",
        data_align: 8,
        code: code(
            13,
            &[0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x49, 0x01, 0xc5],
            &[hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "accumulate",
        data_align: 8,
        code: code(4, &[0x4d, 0x01, 0x2c, 0x24], &[]),
        data: NO_DATA,
    },
    StencilGroup {
        name: "load_sum",
        data_align: 8,
        code: code(4, &[0x4d, 0x8b, 0x2c, 0x24], &[]),
        data: NO_DATA,
    },
    StencilGroup {
        name: "dec_jump_nonzero",
        data_align: 8,
        code: code(
            13,
            &[
                0x49, 0xff, 0xcd, 0x74, 0x05, 0xe9, 0, 0, 0, 0, 0x45, 0x31, 0xed,
            ],
            &[hole(6, PatchKind::Rel32, HoleValue::JumpTarget, None, -4)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "error_if_negative",
        data_align: 8,
        code: code(
            14,
            &[0x4d, 0x85, 0xed, 0x0f, 0x89, 0, 0, 0, 0, 0xe9],
            &[
                hole(5, PatchKind::Rel32, HoleValue::Continue, None, -4),
                hole(10, PatchKind::Rel32, HoleValue::ErrorTarget, None, -4),
            ],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "call_helper",
        data_align: 8,
        code: code(
            14,
            &[
                0x50, 0x4c, 0x89, 0xef, 0xff, 0x15, 0, 0, 0, 0, 0x49, 0x89, 0xc5, 0x58,
            ],
            &[hole(6, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4)],
        ),
        data: Stencil {
            len: 8,
            body: &[],
            holes: &[hole(0, PatchKind::Abs64, HoleValue::Zero, Some(0), 0)],
        },
    },
    StencilGroup {
        name: "lookup",
        data_align: 8,
        code: code(
            18,
            &[
                0x41, 0x83, 0xe5, 0x07, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x4e, 0x8b, 0x2c, 0xe8,
            ],
            &[hole(6, PatchKind::Abs64, HoleValue::Data, None, 0)],
        ),
        data: Stencil {
            len: 64,
            body: &SQUARES_BYTES,
            holes: &[],
        },
    },
    StencilGroup {
        name: "ret",
        data_align: 8,
        code: code(4, &[0x4c, 0x89, 0xe8, 0xc3], &[]),
        data: NO_DATA,
    },
];

/// The embedded table.
pub static TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    groups: &GROUPS,
    symbols: &["helper"],
    custom_values: &[],
};

/// The groups `program` copies, in order: the shim, every instruction's, the terminator.
pub fn pieces(program: &[Instruction]) -> Vec<&'static StencilGroup> {
    std::iter::once(SHIM)
        .chain(program.iter().map(|i| i.group))
        .chain(std::iter::once(RET))
        .map(|g| &TABLE.groups[g as usize])
        .collect()
}

/// The baseline emission is measured against: the same bodies copied to the same places
/// (code from 0, each group's data at its alignment from `data_offset`), without layout or
/// patching.
pub fn copy_bodies(pieces: &[&StencilGroup], buf: &mut [u8], data_offset: usize) {
    let (mut code, mut data) = (0usize, data_offset);
    for group in pieces {
        buf[code..code + group.code.body.len()].copy_from_slice(group.code.body);
        data = data.next_multiple_of(group.data_align as usize);
        buf[data..data + group.data.body.len()].copy_from_slice(group.data.body);
        code += group.code.len as usize;
        data += group.data.len as usize;
    }
}

/// An emitter holding `program` between the shim and the terminator, ready to lay out.
pub fn emitter(program: &[Instruction]) -> Result<Emitter<'static>, EmitError> {
    let mut e = Emitter::new(&TABLE, &[("helper", helper as *const () as usize)])?;
    e.set_shim(SHIM)?;
    e.set_terminator(RET)?;
    e.reserve(program.len())?;
    for &i in program {
        e.push(i)?;
    }
    Ok(e)
}
