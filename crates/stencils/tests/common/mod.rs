//! Shared by the extraction tests: compile the C templates in `tests/templates` with clang 19 at
//! test time (CPython 3.14's flags plus each target's own), and render extractions as text.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use patchjit_stencils::{ClangArgs, Extraction, Hole, Target};

/// The clang to use: `$PATCHJIT_CLANG` or `clang-19`. A missing compiler fails the test loudly.
pub fn clang() -> String {
    std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

/// An LLVM 19 tool next to clang-19 (`llvm-readobj-19`, `llvm-objdump-19`).
pub fn llvm_tool(name: &str) -> String {
    format!("{name}-19")
}

pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

/// A fresh path in the test scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stencils-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The flags every template is compiled with (CPython 3.14's, minus its include paths, plus
/// `-ffreestanding -fno-jump-tables`), before the target's own.
pub const COMMON_FLAGS: &[&str] = &[
    "-O3",
    "-c",
    "-std=c11",
    "-ffreestanding",
    "-fno-asynchronous-unwind-tables",
    "-fno-builtin",
    "-fno-plt",
    "-fno-stack-protector",
    "-fno-jump-tables",
];

/// Compiles `tests/templates/<name>.c` for `target` (plus `extra` flags) and returns the path of
/// the object file.
pub fn compile_to(target: Target, name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(&format!("{}-{name}.o", target.triple()));
    let output = Command::new(clang())
        .arg(format!("--target={}", target.triple()))
        .args(COMMON_FLAGS)
        .args(target.clang_args())
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(templates().join(format!("{name}.c")))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (install clang-19 or set PATCHJIT_CLANG): {e}",
                clang()
            )
        });
    assert!(
        output.status.success(),
        "clang failed on {name}.c for {target}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// Compiles a template and returns the object's bytes.
pub fn compile(target: Target, name: &str, extra: &[&str]) -> Vec<u8> {
    std::fs::read(compile_to(target, name, extra)).unwrap()
}

/// One line per hole: `<offset> <kind> <value>[ &<symbol>][ <addend>] <patch function>`.
pub fn render_hole(hole: &Hole) -> String {
    let mut line = format!("{:#x} {} {}", hole.offset, hole.kind, hole.value);
    if let Some(symbol) = &hole.symbol {
        write!(line, " &{symbol}").unwrap();
    }
    if hole.addend != 0 {
        write!(
            line,
            " {}{:#x}",
            if hole.addend < 0 { "-" } else { "+" },
            hole.addend.unsigned_abs()
        )
        .unwrap();
    }
    write!(line, " {}", hole.patch.func_name()).unwrap();
    line
}

/// A whole extraction as text: per group its sizes, GOT offset, trampolines and holes, then the
/// trampoline symbols. Tests compare this against expectations read off `llvm-objdump -dr`.
pub fn render(extraction: &Extraction) -> String {
    let mut out = String::new();
    for group in &extraction.groups {
        writeln!(
            out,
            "group {} code={} data={} sections={} got={} trampolines={:?}",
            group.name,
            group.code.body.len(),
            group.data.body.len(),
            group.data_section_len,
            group.got_offset,
            group.trampolines
        )
        .unwrap();
        for hole in &group.code.holes {
            writeln!(out, "  code {}", render_hole(hole)).unwrap();
        }
        for hole in &group.data.holes {
            writeln!(out, "  data {}", render_hole(hole)).unwrap();
        }
    }
    if !extraction.trampoline_symbols.is_empty() {
        writeln!(
            out,
            "trampoline symbols {:?}",
            extraction.trampoline_symbols
        )
        .unwrap();
    }
    out
}
