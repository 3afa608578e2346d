//! `patchjit dump`: what an object file becomes — its stencil groups, every hole, the patch call
//! each hole turns into, and a disassembly of the code with the holes marked.

use std::fmt::Write;
use std::io::Read;
use std::path::{Path, PathBuf};

use patchjit_build::cpython::{hole_marks, patch_call};
use patchjit_stencils::{
    extract, extract_objects, read_readobj_json, readobj_json_target, to_json, Extraction, Hole,
    Options, StencilGroup, Target,
};

/// Show the stencils an object file becomes.
///
/// Reads FILE (ELF, Mach-O or COFF from clang; x86-64, AArch64 or i686; or `llvm-readobj`'s JSON
/// output for it, see --readobj-json), extracts its stencil
/// groups the way CPython 3.14's Tools/jit does, and prints per group the holes in CPython's
/// `Hole(...)` form, the patch call each becomes, and the code disassembled with holes marked.
/// Any problem with the file is one line on stderr and exit status 1.
#[derive(clap::Args)]
pub struct Args {
    /// The object file to read (with --readobj-json: only its name is used, for errors and for
    /// naming a one-function object's stencil after its stem).
    #[arg(required_unless_present = "readobj_json")]
    file: Option<PathBuf>,
    /// `text` for people, `json` for tools (the stable schema of `stencils.json`).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Target triple, when the file's header should not decide it (e.g. `x86_64-pc-linux-gnu`).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,
    /// Client-defined hole values: `_JIT_<NAME>` becomes value NAME instead of a symbol.
    #[arg(long = "custom-value", value_name = "NAME")]
    custom_values: Vec<String>,
    /// Read the sections from this `llvm-readobj-19 --elf-output-style=JSON --expand-relocs
    /// --section-data --section-relocations --section-symbols --sections` output (CPython
    /// 3.14's route) instead of from the object file. The target is taken from the output's
    /// summary unless --target is given.
    #[arg(long, value_name = "JSON")]
    readobj_json: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

pub fn run(args: Args) -> Result<(), String> {
    let target = match &args.target {
        Some(triple) => Some(
            Target::from_triple(triple)
                .ok_or_else(|| format!("unknown target {triple:?}; known: {}", known_targets()))?,
        ),
        None => None,
    };
    let options = Options {
        custom_values: args.custom_values,
        ..Default::default()
    };
    let (extraction, target) = match (&args.readobj_json, &args.file) {
        (Some(json_path), file) => {
            let json_name = json_path.display().to_string();
            let json = String::from_utf8(read_input(json_path)?)
                .map_err(|_| format!("{json_name}: not UTF-8 text"))?;
            let target = match target {
                Some(target) => target,
                None => readobj_json_target(&json_name, &json).map_err(|e| e.to_string())?,
            };
            let sections =
                read_readobj_json(&json_name, &json, target).map_err(|e| e.to_string())?;
            let name = file.as_ref().map_or(json_name, |f| f.display().to_string());
            let extraction = extract(&name, &[sections], &options).map_err(|e| e.to_string())?;
            (extraction, target)
        }
        (None, Some(file)) => {
            let name = file.display().to_string();
            let bytes = read_input(file)?;
            let extraction =
                extract_objects(&[(&name, &bytes)], target, &options).map_err(|e| e.to_string())?;
            let target = match target {
                Some(target) => target,
                None => {
                    patchjit_stencils::read_object(&name, &bytes, None)
                        .map_err(|e| e.to_string())?
                        .target
                }
            };
            (extraction, target)
        }
        // clap requires FILE unless --readobj-json is given.
        (None, None) => return Err("no object file given".to_string()),
    };
    let out = match args.format {
        Format::Json => to_json(&extraction, target),
        Format::Text => render_text(&extraction, target),
    };
    crate::output::print(&out)
}

/// The largest input read: far above any object clang makes of templates (or its
/// `llvm-readobj` JSON), and small enough that a wrong path (`/dev/zero`, a disk image) is
/// refused at once instead of filling memory until allocation fails.
const MAX_INPUT: u64 = 64 << 20;

/// The whole of `path`, if it is at most [`MAX_INPUT`] bytes.
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{name}: {e}"))?;
    if bytes.len() as u64 > MAX_INPUT {
        return Err(format!(
            "{name}: larger than {} MiB, which no object file patchjit dump reads is",
            MAX_INPUT >> 20
        ));
    }
    Ok(bytes)
}

fn known_targets() -> String {
    Target::ALL.map(Target::triple).join(", ")
}

/// The human-readable dump of every group.
pub fn render_text(extraction: &Extraction, target: Target) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "target {target}");
    if !extraction.trampoline_symbols.is_empty() {
        let _ = writeln!(
            out,
            "trampoline symbols: {}",
            extraction.trampoline_symbols.join(", ")
        );
    }
    for group in &extraction.groups {
        let _ = writeln!(
            out,
            "\n== {} (code {} bytes, data {} bytes{}, trampolines {:?})",
            group.name,
            group.code.body.len(),
            group.data.body.len(),
            match group.data_align {
                8 => String::new(),
                align => format!(" aligned to {align}"),
            },
            group.trampolines
        );
        for (part, stencil) in [("code", &group.code), ("data", &group.data)] {
            if stencil.holes.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{part} holes:");
            for hole in &stencil.holes {
                let _ = writeln!(out, "  {}", hole_repr(hole));
                let _ = writeln!(out, "    {}", call_text(group, hole, part));
            }
        }
        if !group.code.body.is_empty() {
            let _ = writeln!(out, "code:");
            out.push_str(&patchjit_disasm::listing(
                target.arch(),
                &group.code.body,
                &hole_marks(&group.code.holes),
            ));
        }
        if !group.data.body.is_empty() {
            let _ = writeln!(out, "data:");
            for (row, chunk) in group.data.body.chunks(16).enumerate() {
                let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
                let _ = writeln!(out, "  {:4x}: {}", row * 16, hex.join(" "));
            }
        }
    }
    out
}

/// CPython's `Hole(...)` repr, so dumps can be compared with `Tools/jit` output by eye.
fn hole_repr(hole: &Hole) -> String {
    let symbol = hole
        .symbol
        .as_ref()
        .map_or("None".to_string(), |s| format!("'{s}'"));
    format!(
        "Hole(offset={}, kind='{}', value={}, symbol={}, addend={}, func='{}')",
        hole.offset,
        hole.kind,
        hole.value,
        symbol,
        hole.addend,
        hole.patch.func_name()
    )
}

/// The patch call CPython's writer would print; client-defined values have no C expression
/// there, so they are shown by name.
fn call_text(group: &StencilGroup, hole: &Hole, part: &str) -> String {
    patch_call(group, hole, part).unwrap_or_else(|_| {
        format!(
            "{}({part} + {:#x}, <{}> + {:#x});",
            hole.patch.func_name(),
            hole.offset,
            hole.value,
            hole.addend
        )
    })
}
