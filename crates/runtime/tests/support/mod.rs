//! Test support: compile the C templates in `tests/templates` with clang 19, extract them with
//! `patchjit-stencils`, and turn the owned extraction into a runtime [`StencilTable`] by leaking
//! it (tests only; generated tables are `static`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use patchjit::{Hole, HoleValue, PatchKind, Stencil, StencilGroup, StencilTable};
use patchjit_stencils as stencils;
use stencils::{Extraction, Target};

/// The clang to use: `$PATCHJIT_CLANG` or `clang-19`.
pub fn clang() -> String {
    std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Compiles `tests/templates/<name>.c` for `target` with CPython 3.14's flags plus `extra`;
/// returns the object file's bytes.
pub fn compile(target: Target, name: &str, extra: &[&str]) -> Vec<u8> {
    let out = scratch(&format!("{name}.o"));
    let status = Command::new(clang())
        .arg(format!("--target={}", target.triple()))
        .args([
            "-O3",
            "-c",
            "-std=c11",
            "-ffreestanding",
            "-fno-asynchronous-unwind-tables",
            "-fno-builtin",
        ])
        .args(["-fno-stack-protector", "-fno-jump-tables"])
        .args(target.clang_args())
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(templates().join(format!("{name}.c")))
        .status()
        .unwrap_or_else(|e| panic!("cannot run {} (set PATCHJIT_CLANG): {e}", clang()));
    assert!(status.success(), "clang failed on {name}.c");
    std::fs::read(&out).unwrap()
}

/// The default flags of the runtime tests: CPython's, plus `-fno-plt` (calls through the GOT).
pub fn compile_default(target: Target, name: &str) -> Vec<u8> {
    compile(target, name, &["-fno-plt"])
}

/// Extracts the named objects (`name.o`, one group per object) for `target`; `_JIT_SCALE` is a
/// client-defined hole value.
pub fn extract(target: Target, objects: &[(&str, Vec<u8>)]) -> Extraction {
    let named: Vec<(String, &[u8])> = objects
        .iter()
        .map(|(n, b)| (format!("{n}.o"), b.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let options = stencils::Options {
        custom_values: vec!["SCALE".to_string()],
    };
    stencils::extract_objects(&refs, Some(target), &options)
        .unwrap_or_else(|e| panic!("extraction failed: {e}"))
}

/// Compiles and extracts templates in one go.
pub fn build(target: Target, names: &[&str]) -> Extraction {
    let objects: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|&n| (n, compile_default(target, n)))
        .collect();
    extract(target, &objects)
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn leak_str(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Converts an extraction into a `'static` runtime table (leaking it).
pub fn leak_table(extraction: &Extraction, target: Target) -> &'static StencilTable {
    let mut symbols: Vec<String> = Vec::new();
    let mut customs: Vec<String> = Vec::new();
    fn intern(list: &mut Vec<String>, name: &str) -> u16 {
        match list.iter().position(|s| s == name) {
            Some(i) => i as u16,
            None => {
                list.push(name.to_string());
                (list.len() - 1) as u16
            }
        }
    }
    let mut convert = |stencil: &stencils::Stencil, symbols: &mut Vec<String>| -> Stencil {
        let holes: Vec<Hole> = stencil
            .holes
            .iter()
            .map(|h| {
                let value = match &h.value {
                    stencils::HoleValue::Code => HoleValue::Code,
                    stencils::HoleValue::Continue => HoleValue::Continue,
                    stencils::HoleValue::Data => HoleValue::Data,
                    stencils::HoleValue::Executor => HoleValue::Executor,
                    stencils::HoleValue::Got => panic!("GOT value left after extraction"),
                    stencils::HoleValue::Oparg => HoleValue::Oparg,
                    stencils::HoleValue::Operand0 => HoleValue::Operand0,
                    stencils::HoleValue::Operand0Hi => HoleValue::Operand0Hi,
                    stencils::HoleValue::Operand0Lo => HoleValue::Operand0Lo,
                    stencils::HoleValue::Operand1 => HoleValue::Operand1,
                    stencils::HoleValue::Operand1Hi => HoleValue::Operand1Hi,
                    stencils::HoleValue::Operand1Lo => HoleValue::Operand1Lo,
                    stencils::HoleValue::Target => HoleValue::Target,
                    stencils::HoleValue::JumpTarget => HoleValue::JumpTarget,
                    stencils::HoleValue::ErrorTarget => HoleValue::ErrorTarget,
                    stencils::HoleValue::Zero => HoleValue::Zero,
                    stencils::HoleValue::Custom(name) => {
                        HoleValue::Custom(intern(&mut customs, name))
                    }
                };
                let patch = patch_kind(h.patch);
                let (symbol, addend) = if patch == PatchKind::Aarch64Trampoline {
                    let name = &extraction.trampoline_symbols[h.addend as usize];
                    (Some(intern(symbols, name)), 0)
                } else {
                    (h.symbol.as_deref().map(|s| intern(symbols, s)), h.addend)
                };
                Hole {
                    offset: h.offset as u32,
                    patch,
                    value,
                    symbol,
                    addend,
                }
            })
            .collect();
        let len = stencil.body.len();
        let trimmed = stencil
            .body
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |i| i + 1);
        Stencil {
            len: len as u32,
            body: leak(stencil.body[..trimmed].to_vec()),
            holes: leak(holes),
        }
    };
    let groups: Vec<StencilGroup> = extraction
        .groups
        .iter()
        .map(|g| StencilGroup {
            name: leak_str(&g.name),
            code: convert(&g.code, &mut symbols),
            data: convert(&g.data, &mut symbols),
        })
        .collect();
    let symbols: Vec<&'static str> = symbols.iter().map(|s| leak_str(s)).collect();
    let custom_values: Vec<&'static str> = customs.iter().map(|s| leak_str(s)).collect();
    Box::leak(Box::new(StencilTable {
        target: target.triple(),
        groups: leak(groups),
        symbols: leak(symbols),
        custom_values: leak(custom_values),
    }))
}

pub fn patch_kind(k: stencils::PatchKind) -> PatchKind {
    use stencils::PatchKind as S;
    match k {
        S::Abs32 => PatchKind::Abs32,
        S::Abs64 => PatchKind::Abs64,
        S::Rel32 => PatchKind::Rel32,
        S::X86_64Rel32x => PatchKind::X86_64Rel32x,
        S::Aarch64Lo12 => PatchKind::Aarch64Lo12,
        S::Aarch64Lo12x => PatchKind::Aarch64Lo12x,
        S::Aarch64Mov16a => PatchKind::Aarch64Mov16a,
        S::Aarch64Mov16b => PatchKind::Aarch64Mov16b,
        S::Aarch64Mov16c => PatchKind::Aarch64Mov16c,
        S::Aarch64Mov16d => PatchKind::Aarch64Mov16d,
        S::Aarch64Page21r => PatchKind::Aarch64Page21r,
        S::Aarch64Page21rx => PatchKind::Aarch64Page21rx,
        S::Aarch64Branch26r => PatchKind::Aarch64Branch26r,
        S::Aarch64Pair33rx => PatchKind::Aarch64Pair33rx,
        S::Aarch64Trampoline => PatchKind::Aarch64Trampoline,
    }
}

/// The output of [`link`]: the linked `.text` and every allocated section.
pub struct Linked {
    pub text: Vec<u8>,
    /// `(address, bytes)` of every allocated section, to read GOT slots and data.
    pub sections: Vec<(u64, Vec<u8>)>,
}

impl Linked {
    pub fn read64(&self, address: u64) -> u64 {
        for (start, bytes) in &self.sections {
            if (*start..*start + bytes.len() as u64).contains(&address) {
                let at = (address - start) as usize;
                return u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
            }
        }
        panic!("lld output has nothing at {address:#x}");
    }
}

/// Links one object with `ld.lld-19 --no-relax -static`: `.text` at `code`, its data sections at
/// `data`, `.got` at `got`, and `symbols` defined with `--defsym`.
pub fn link(
    name: &str,
    object: &[u8],
    code: u64,
    data: u64,
    got: u64,
    symbols: &[(&str, u64)],
) -> Linked {
    use object::{Object, ObjectSection};
    let obj = scratch(&format!("{name}.o"));
    let script = scratch(&format!("{name}.ld"));
    let out = scratch(&format!("{name}.elf"));
    std::fs::write(&obj, object).unwrap();
    std::fs::write(
        &script,
        format!(
            "SECTIONS {{\n  .text {code:#x} : {{ *(.text*) }}\n  \
             .data {data:#x} : {{ *(.rodata*) *(.lrodata*) *(.data*) *(.ldata*) }}\n  \
             .got {got:#x} : {{ *(.got) }}\n}}\n"
        ),
    )
    .unwrap();
    let mut command = Command::new("ld.lld-19");
    command
        .args(["--no-relax", "-static", "-e", "_JIT_ENTRY", "-T"])
        .arg(&script);
    for (symbol, value) in symbols {
        command.arg(format!("--defsym={symbol}={value:#x}"));
    }
    let status = command
        .arg("-o")
        .arg(&out)
        .arg(&obj)
        .status()
        .expect("ld.lld-19 must be installed");
    assert!(status.success(), "ld.lld-19 failed for {name}");
    let bytes = std::fs::read(&out).unwrap();
    let file = object::File::parse(&*bytes).unwrap();
    let text = file
        .section_by_name(".text")
        .unwrap()
        .data()
        .unwrap()
        .to_vec();
    let sections = file
        .sections()
        .filter(|s| s.address() != 0 && s.size() > 0)
        .map(|s| (s.address(), s.data().unwrap().to_vec()))
        .collect();
    Linked { text, sections }
}
