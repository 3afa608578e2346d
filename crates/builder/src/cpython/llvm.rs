//! The LLVM version CPython 3.14's JIT is built with, and turning `llvm-objdump` output into
//! CPython's code comment lines.

use std::path::Path;
use std::process::Command;

use super::pytext::{expand_tabs, py_strip, split_lines};

/// The LLVM major version CPython 3.14's stencils are built with.
pub const LLVM_VERSION: u32 = 19;

/// CPython's code comments for one object: every line of `llvm-objdump --disassemble --reloc`
/// with tabs expanded (before the path is shortened, as CPython does), stripped, and the
/// object's absolute path replaced by its file name. Blank lines are kept.
pub fn objdump_comments(objdump: &Path, object: &Path) -> Result<Vec<String>, String> {
    let name = objdump.display();
    let output = Command::new(objdump)
        .arg("--disassemble")
        .arg("--reloc")
        .arg(object)
        .output()
        .map_err(|e| format!("cannot run {name}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{name} --disassemble --reloc {} failed ({}): {}",
            object.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| format!("{name} printed text that is not UTF-8"))?;
    let long = object.display().to_string();
    let short = object
        .file_name()
        .map_or(long.clone(), |n| n.to_string_lossy().into_owned());
    Ok(comment_lines(&text, &long, &short))
}

fn comment_lines(text: &str, long: &str, short: &str) -> Vec<String> {
    split_lines(text)
        .into_iter()
        .map(|line| py_strip(&expand_tabs(line)).replace(long, short))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_expand_tabs_before_shortening() {
        let text = "\n/tmp/tmpabcdefgh/_X.o:\tfile format elf64-x86-64\n\nDisassembly of section .text:\n\n0000000000000000 <_JIT_ENTRY>:\n       0: e9 00 00 00 00               \tjmp\t0x5 <_JIT_ENTRY+0x5>\n\t\t0000000000000001:  R_X86_64_PLT32\t_JIT_CONTINUE-0x4\n";
        let lines = comment_lines(text, "/tmp/tmpabcdefgh/_X.o", "_X.o");
        assert_eq!(
            lines,
            [
                "",
                "_X.o:  file format elf64-x86-64",
                "",
                "Disassembly of section .text:",
                "",
                "0000000000000000 <_JIT_ENTRY>:",
                "0: e9 00 00 00 00                jmp     0x5 <_JIT_ENTRY+0x5>",
                "0000000000000001:  R_X86_64_PLT32       _JIT_CONTINUE-0x4",
            ]
        );
    }
}
