//! `patchjit bench`: measurements of extraction and of the runtime.
//!
//! `bench extract` extracts real object files (e.g. CPython's micro-op objects) in process and
//! reports objects/s and MB/s, side by side with copying the same bytes and, when it is
//! installed, with running `llvm-readobj-19` on them (what CPython's `Tools/jit` does per object).
//!
//! `bench emit` builds a program of N instructions from a small embedded x86-64 stencil table
//! (no clang needed at run time) and reports, as one JSON line, how long the emitter's two
//! passes take per stencil, how long merely copying the same bytes takes, and the end-to-end
//! cost including mapping and sealing the memory.

use std::hint::black_box;
use std::time::Instant;

use patchjit::{
    Destination, Emitter, Hole, HoleValue, Instruction, Options, PatchKind, Stencil, StencilGroup,
    StencilTable,
};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Emitter throughput against memcpy of the same stencils; prints one JSON line.
    Emit(EmitArgs),
    /// Extraction throughput on real object files; prints one JSON line.
    Extract(ExtractArgs),
}

#[derive(clap::Args)]
struct ExtractArgs {
    /// Object files to extract (cycled through until --objects have been extracted).
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Objects extracted per timed run.
    #[arg(long, default_value_t = 300)]
    objects: usize,
    /// Timed repetitions; the median is reported.
    #[arg(long, default_value_t = 11)]
    iterations: usize,
    /// Also time `llvm-readobj-19 --elf-output-style=JSON ...` on every object once.
    #[arg(long)]
    readobj: bool,
}

#[derive(clap::Args)]
struct EmitArgs {
    /// Instructions in the synthesized program.
    #[arg(long, default_value_t = 10_000)]
    instructions: usize,
    /// Timed repetitions; the median is reported.
    #[arg(long, default_value_t = 101)]
    iterations: usize,
}

pub fn run(args: Args) -> Result<(), String> {
    match args.command {
        Command::Emit(args) => emit(&args),
        Command::Extract(args) => extract(&args),
    }
}

fn extract(args: &ExtractArgs) -> Result<(), String> {
    if args.objects == 0 || args.iterations == 0 {
        return Err("--objects and --iterations must be at least 1".into());
    }
    let mut inputs = Vec::new();
    for path in &args.files {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        inputs.push((path.display().to_string(), bytes));
    }
    let objects: Vec<&(String, Vec<u8>)> = inputs.iter().cycle().take(args.objects).collect();
    let total_bytes: usize = objects.iter().map(|(_, b)| b.len()).sum();
    let options = patchjit_stencils::Options::default();
    let extract_ns = median(args.iterations, || {
        for (name, bytes) in &objects {
            let extraction = patchjit_stencils::extract_objects(&[(name, bytes)], None, &options)
                .map_err(|e| e.to_string())?;
            black_box(extraction);
        }
        Ok(())
    })?;
    let copy_ns = median(args.iterations, || {
        for (_, bytes) in &objects {
            black_box(bytes.to_vec());
        }
        Ok(())
    })?;
    let readobj_ns = if args.readobj {
        let start = Instant::now();
        for (name, _) in &objects {
            let status = std::process::Command::new("llvm-readobj-19")
                .args([
                    "--elf-output-style=JSON",
                    "--expand-relocs",
                    "--section-data",
                ])
                .args(["--section-relocations", "--section-symbols", "--sections"])
                .arg(name)
                .stdout(std::process::Stdio::null())
                .status()
                .map_err(|e| format!("llvm-readobj-19: {e}"))?;
            if !status.success() {
                return Err(format!("llvm-readobj-19 failed on {name}"));
            }
        }
        format!(
            "{:.0}",
            start.elapsed().as_nanos() as f64 / objects.len() as f64
        )
    } else {
        "null".to_string()
    };
    let per_object = extract_ns / objects.len() as f64;
    println!(
        "{{\"objects\":{},\"bytes\":{total_bytes},\"ns_per_object\":{per_object:.0},\"objects_per_s\":{:.0},\"mb_per_s\":{:.1},\"copy_ns_per_object\":{:.0},\"readobj_ns_per_object\":{readobj_ns}}}",
        objects.len(),
        1e9 / per_object,
        total_bytes as f64 / extract_ns * 1e3,
        copy_ns / objects.len() as f64,
    );
    Ok(())
}

fn emit(args: &EmitArgs) -> Result<(), String> {
    if args.instructions == 0 || args.iterations == 0 {
        return Err("--instructions and --iterations must be at least 1".into());
    }
    let resolver = [("helper", helper as *const () as usize)];
    let (program, expected) = synthesize(args.instructions);
    let build = || -> Result<Emitter<'static>, String> {
        let mut e = Emitter::new(&TABLE, &resolver).map_err(|e| e.to_string())?;
        e.set_shim(SHIM).map_err(|e| e.to_string())?;
        e.set_terminator(RET).map_err(|e| e.to_string())?;
        e.reserve(program.len());
        for &i in &program {
            e.push(i).map_err(|e| e.to_string())?;
        }
        Ok(e)
    };

    let emitter = build()?;
    let layout = emitter.layout().map_err(|e| e.to_string())?;
    let data_offset = (layout.code_len as usize).next_multiple_of(4096);
    let mut buf = vec![0u8; data_offset + layout.data_len as usize];
    let base = buf.as_ptr() as u64;

    let emit = |buf: &mut Vec<u8>| {
        let layout = emitter.layout().map_err(|e| e.to_string())?;
        emitter
            .emit_into(&layout, black_box(buf), base, data_offset)
            .map_err(|e| e.to_string())
    };
    // The same bytes copied to the same places, without layout or patching.
    let pieces: Vec<&StencilGroup> = std::iter::once(SHIM)
        .chain(program.iter().map(|i| i.group))
        .chain(std::iter::once(RET))
        .map(|g| &TABLE.groups[g as usize])
        .collect();
    let memcpy = |buf: &mut Vec<u8>| {
        let (mut code, mut data) = (0usize, data_offset);
        for group in &pieces {
            buf[code..code + group.code.body.len()].copy_from_slice(group.code.body);
            data = data.next_multiple_of(8);
            buf[data..data + group.data.body.len()].copy_from_slice(group.data.body);
            code += group.code.len as usize;
            data += group.data.len as usize;
        }
        black_box(buf);
        Ok(())
    };
    let (emit_ns, memcpy_ns, ratio) = paired(args.iterations, &mut buf, emit, memcpy)?;

    let end_to_end_ns = median(args.iterations, || {
        let code = build()?
            .finish(&Options::default())
            .map_err(|e| e.to_string())?;
        black_box(code.entry_address());
        Ok(())
    })?;

    check(build()?, expected)?;

    let n = args.instructions as f64;
    let (per, memcpy) = (emit_ns / n, memcpy_ns / n);

    println!(
        "{{\"stencils\":{},\"ns_per_stencil\":{:.2},\"memcpy_ns_per_stencil\":{:.2},\"ratio_to_memcpy\":{:.2},\"end_to_end_ns_per_stencil\":{:.2}}}",
        args.instructions,
        per,
        memcpy,
        ratio,
        end_to_end_ns / n
    );
    Ok(())
}

/// Runs the program once and compares its result with the reference computation.
#[cfg(target_arch = "x86_64")]
fn check(emitter: Emitter<'static>, expected: (i64, i64)) -> Result<(), String> {
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
fn check(_: Emitter<'static>, _: (i64, i64)) -> Result<(), String> {
    Err("`bench emit` runs its x86-64 stencils and needs an x86-64 host".into())
}

/// Times `a` and `b` back to back in each repetition, so that machine noise hits both alike:
/// the median of each and the median of the per-repetition ratios `a / b`.
fn paired(
    iterations: usize,
    buf: &mut Vec<u8>,
    mut a: impl FnMut(&mut Vec<u8>) -> Result<(), String>,
    mut b: impl FnMut(&mut Vec<u8>) -> Result<(), String>,
) -> Result<(f64, f64, f64), String> {
    a(buf)?;
    b(buf)?;
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations {
        let start = Instant::now();
        a(buf)?;
        let middle = Instant::now();
        b(buf)?;
        let (x, y) = (
            (middle - start).as_nanos() as f64,
            middle.elapsed().as_nanos() as f64,
        );
        ta.push(x);
        tb.push(y);
        ratios.push(x / y);
    }
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((mid(ta), mid(tb), mid(ratios)))
}

fn median(iterations: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    f()?;
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_nanos() as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

extern "C" fn helper(x: i64) -> i64 {
    x.wrapping_mul(3).wrapping_add(1) % 1000
}

/// A straight-line program cycling through every group, with the `(acc, sum)` it must produce.
fn synthesize(n: usize) -> (Vec<Instruction>, (i64, i64)) {
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

const SHIM: u16 = 0;
const LOAD: u16 = 1;
const ADD: u16 = 2;
const ACCUMULATE: u16 = 3;
const LOAD_SUM: u16 = 4;
const DEC_JUMP_NONZERO: u16 = 5;
const ERROR_IF_NEGATIVE: u16 = 6;
const CALL_HELPER: u16 = 7;
const LOOKUP: u16 = 8;
const RET: u16 = 9;

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
        code: code(
            10,
            &[0x49, 0xbd],
            &[hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "add",
        code: code(
            13,
            &[0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x49, 0x01, 0xc5],
            &[hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0)],
        ),
        data: NO_DATA,
    },
    StencilGroup {
        name: "accumulate",
        code: code(4, &[0x4d, 0x01, 0x2c, 0x24], &[]),
        data: NO_DATA,
    },
    StencilGroup {
        name: "load_sum",
        code: code(4, &[0x4d, 0x8b, 0x2c, 0x24], &[]),
        data: NO_DATA,
    },
    StencilGroup {
        name: "dec_jump_nonzero",
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
        code: code(4, &[0x4c, 0x89, 0xe8, 0xc3], &[]),
        data: NO_DATA,
    },
];

static TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    groups: &GROUPS,
    symbols: &["helper"],
    custom_values: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_constants_match_names() {
        let names = [
            "shim",
            "load",
            "add",
            "accumulate",
            "load_sum",
            "dec_jump_nonzero",
            "error_if_negative",
            "call_helper",
            "lookup",
            "ret",
        ];
        for (i, name) in names.iter().enumerate() {
            assert_eq!(GROUPS[i].name, *name);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn small_programs_compute_the_reference_result() {
        let resolver = [("helper", helper as *const () as usize)];
        for n in [1, 2, 9, 50, 333] {
            let (program, expected) = synthesize(n);
            let mut e = Emitter::new(&TABLE, &resolver).unwrap();
            e.set_shim(SHIM).unwrap();
            e.set_terminator(RET).unwrap();
            for i in program {
                e.push(i).unwrap();
            }
            check(e, expected).unwrap();
        }
    }

    /// The embedded table is what clang 19 and `patchjit-stencils` make of the templates today:
    /// compile each one and compare bodies (up to trailing zeros), lengths and holes.
    #[test]
    fn embedded_table_matches_the_templates() {
        use patchjit_stencils as stencils;
        let clang = std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".into());
        let templates =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/tests/templates");
        let out =
            std::env::temp_dir().join(format!("patchjit-bench-templates-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let target = stencils::Target::X86_64UnknownLinuxGnu;
        for group in &GROUPS {
            let object = out.join(format!("{}.o", group.name));
            let status = std::process::Command::new(&clang)
                .arg(format!("--target={}", target.triple()))
                .args([
                    "-O3",
                    "-c",
                    "-std=c11",
                    "-ffreestanding",
                    "-fno-asynchronous-unwind-tables",
                    "-fno-builtin",
                ])
                .args(["-fno-stack-protector", "-fno-jump-tables", "-fno-plt"])
                .args(target.clang_args())
                .arg("-o")
                .arg(&object)
                .arg(templates.join(format!("{}.c", group.name)))
                .status()
                .expect("clang-19 (or $PATCHJIT_CLANG) must be installed");
            assert!(status.success());
            let bytes = std::fs::read(&object).unwrap();
            let file = format!("{}.o", group.name);
            let extraction = stencils::extract_objects(
                &[(&file, &bytes)],
                Some(target),
                &stencils::Options::default(),
            )
            .unwrap();
            let extracted = &extraction.groups[0];
            for (ours, theirs) in [
                (&group.code, &extracted.code),
                (&group.data, &extracted.data),
            ] {
                assert_eq!(
                    ours.len as usize,
                    theirs.body.len(),
                    "{}: length",
                    group.name
                );
                let trim = |b: &[u8]| b.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                assert_eq!(
                    &ours.body[..trim(ours.body)],
                    &theirs.body[..trim(&theirs.body)],
                    "{}: body up to trailing zeros",
                    group.name
                );
                let holes: Vec<String> = ours
                    .holes
                    .iter()
                    .map(|h| {
                        let symbol = h.symbol.map(|s| TABLE.symbols[s as usize]);
                        format!(
                            "{} {:?} {:?} {symbol:?} {}",
                            h.offset, h.patch, h.value, h.addend
                        )
                    })
                    .collect();
                let expected: Vec<String> = theirs
                    .holes
                    .iter()
                    .map(|h| {
                        let value = match h.value.name() {
                            "JUMP_TARGET" => "JumpTarget".to_string(),
                            "ERROR_TARGET" => "ErrorTarget".to_string(),
                            "OPERAND0" => "Operand0".to_string(),
                            name => name[..1].to_string() + &name[1..].to_lowercase(),
                        };
                        format!(
                            "{} {:?} {value} {:?} {}",
                            h.offset,
                            h.patch,
                            h.symbol.as_deref(),
                            h.addend
                        )
                    })
                    .collect();
                assert_eq!(holes, expected, "{}: holes", group.name);
            }
        }
    }
}
