//! Shared by the extraction tests: compile the C templates in `tests/templates` with clang 19 at
//! test time (patchjit-test-support's template flags), and render extractions as text.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use patchjit_stencils::{Extraction, Hole, Target};
use patchjit_test_support::Object;

pub fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates")
}

/// Compiles `tests/templates/<name>.c` for `target` with the template flags plus `extra`.
pub fn compile_to(target: Target, name: &str, extra: &[&str]) -> Object {
    patchjit_test_support::compile(target, &templates().join(format!("{name}.c")), extra)
}

/// Compiles a template and returns the object's bytes.
pub fn compile(target: Target, name: &str, extra: &[&str]) -> Vec<u8> {
    compile_to(target, name, extra).bytes()
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

/// A whole extraction as text: per group its sizes, GOT offset, trampolines, data alignment
/// (when not 8) and holes, then the
/// trampoline symbols. Tests compare this against expectations read off `llvm-objdump -dr`.
pub fn render(extraction: &Extraction) -> String {
    let mut out = String::new();
    for group in &extraction.groups {
        writeln!(
            out,
            "group {} code={} data={} sections={} got={} trampolines={:?}{}",
            group.name,
            group.code.body.len(),
            group.data.body.len(),
            group.data_section_len,
            group.got_offset,
            group.trampolines,
            match group.data_align {
                8 => String::new(),
                align => format!(" align={align}"),
            }
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
