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

use patchjit::Options;

use crate::emit_workload::{check, copy_bodies, emitter, pieces, synthesize};

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
    crate::output::print(&format!(
        "{{\"objects\":{},\"bytes\":{total_bytes},\"ns_per_object\":{per_object:.0},\"objects_per_s\":{:.0},\"mb_per_s\":{:.1},\"copy_ns_per_object\":{:.0},\"readobj_ns_per_object\":{readobj_ns}}}\n",
        objects.len(),
        1e9 / per_object,
        total_bytes as f64 / extract_ns * 1e3,
        copy_ns / objects.len() as f64,
    ))
}

fn emit(args: &EmitArgs) -> Result<(), String> {
    if args.instructions == 0 || args.iterations == 0 {
        return Err("--instructions and --iterations must be at least 1".into());
    }
    let (program, expected) = synthesize(args.instructions);
    let build = || emitter(&program).map_err(|e| e.to_string());

    let unit = build()?;
    let layout = unit.layout().map_err(|e| e.to_string())?;
    let data_offset = (layout.code_len() as usize).next_multiple_of(4096);
    let mut buf = vec![0u8; data_offset + layout.data_len() as usize];
    let base = buf.as_ptr() as u64;

    let emit = |buf: &mut [u8]| {
        let layout = unit.layout().map_err(|e| e.to_string())?;
        unit.emit_into(&layout, black_box(buf), base, data_offset)
            .map_err(|e| e.to_string())
    };
    let pieces = pieces(&program);
    let memcpy = |buf: &mut [u8]| {
        copy_bodies(&pieces, buf, data_offset);
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

    crate::output::print(&format!(
        "{{\"stencils\":{},\"ns_per_stencil\":{:.2},\"memcpy_ns_per_stencil\":{:.2},\"ratio_to_memcpy\":{:.2},\"end_to_end_ns_per_stencil\":{:.2}}}\n",
        args.instructions,
        per,
        memcpy,
        ratio,
        end_to_end_ns / n
    ))
}

/// Times `a` and `b` back to back in each repetition, so that machine noise hits both alike:
/// the median of each and the median of the per-repetition ratios `a / b`.
fn paired(
    iterations: usize,
    buf: &mut [u8],
    mut a: impl FnMut(&mut [u8]) -> Result<(), String>,
    mut b: impl FnMut(&mut [u8]) -> Result<(), String>,
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

/// The embedded workload itself.
#[cfg(test)]
mod tests {
    use crate::emit_workload::*;

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
            assert_eq!(TABLE.groups[i].name, *name);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn small_programs_compute_the_reference_result() {
        for n in [1, 2, 9, 50, 333] {
            let (program, expected) = synthesize(n);
            let e = emitter(&program).unwrap();
            check(e, expected).unwrap();
        }
    }

    /// The embedded table is what clang 19 and `patchjit-stencils` make of the templates today:
    /// compile each one and compare bodies (up to trailing zeros), lengths and holes.
    #[test]
    fn embedded_table_matches_the_templates() {
        use patchjit_stencils::{self as stencils, ClangArgs};
        let clang = std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".into());
        let templates =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/tests/templates");
        let out =
            std::env::temp_dir().join(format!("patchjit-bench-templates-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        let target = stencils::Target::X86_64UnknownLinuxGnu;
        for group in TABLE.groups {
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
                let holes: Vec<_> = ours
                    .holes
                    .iter()
                    .map(|h| {
                        let symbol = h.symbol.map(|s| TABLE.symbols[s as usize]);
                        (u64::from(h.offset), h.patch, h.value, symbol, h.addend)
                    })
                    .collect();
                let expected: Vec<_> = theirs
                    .holes
                    .iter()
                    .map(|h| {
                        // An undeclared custom value gets an index no table holds.
                        let value = h.value.clone().map_custom(|name| {
                            TABLE
                                .custom_values
                                .iter()
                                .position(|v| *v == name)
                                .map_or(u16::MAX, |i| i as u16)
                        });
                        (h.offset, h.patch, value, h.symbol.as_deref(), h.addend)
                    })
                    .collect();
                assert_eq!(holes, expected, "{}: holes", group.name);
            }
        }
    }
}
