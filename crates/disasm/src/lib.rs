//! Instruction listings for patchjit: one decoder shared by `patchjit dump`, the comments of
//! `patchjit cpython` and `patchjit::ExecutableCode::disassemble`, so stencils and the code they
//! became read the same. Decoding never fails: bytes that are not an instruction become `.byte`
//! (x86) or `.word` (AArch64) lines and decoding resynchronises after them.

#![warn(missing_docs)]

use std::fmt::Write;

pub use patchjit_vocab::Arch;
use patchjit_vocab::{HoleValue, PatchKind};

/// One decoded instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Offset of the first byte in the decoded slice.
    pub offset: usize,
    /// Bytes it covers, so `code[offset..offset + len]` is the instruction: 1 for an x86
    /// `.byte`, 4 on AArch64 except a trailing `.byte` line of fewer.
    pub len: usize,
    /// Intel syntax on x86, LLVM-like syntax on AArch64.
    pub text: String,
}

/// Decodes all of `code` as if it were loaded at `address` (which only affects the targets of
/// relative branches shown in the text).
pub fn decode(arch: Arch, code: &[u8], address: u64) -> Vec<Line> {
    match arch {
        Arch::X86_64 => decode_x86(64, code, address),
        Arch::I686 => decode_x86(32, code, address),
        Arch::Aarch64 => decode_aarch64(code),
    }
}

/// `offset: bytes  text` for one line, with the bytes column padded so listings align.
pub fn format_line(line: &Line, code: &[u8], address: u64) -> String {
    let bytes: Vec<String> = code[line.offset..line.offset + line.len]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{:>6x}: {:<30} {}",
        address + line.offset as u64,
        bytes.join(" "),
        line.text
    )
}

/// A hole to point out in a [`listing`]: what gets patched at `offset`, in the words of the
/// relocation it came from (`patch_64 OPERAND0 + &table - 0x8`).
#[derive(Clone, Copy, Debug)]
pub struct HoleMark<'a> {
    /// Offset of the hole's first byte in the listed code.
    pub offset: u64,
    /// The patch function, shown by its CPython name (`patch_64`).
    pub patch: PatchKind,
    /// The base the patch starts from (`OPERAND0`, `CONTINUE`, a custom value's name).
    pub value: &'a HoleValue<String>,
    /// The external symbol whose address is added, if any.
    pub symbol: Option<&'a str>,
    /// Added last; shown as `+ 0x..` or `- 0x..`, omitted when 0.
    pub addend: i64,
}

/// A stencil's code as copied (holes unpatched): one [`format_line`] per instruction, each
/// followed by a `^ hole at` line for every hole that starts inside it, so `patchjit dump` and
/// `patchjit cpython`'s comments show the same thing.
pub fn listing(arch: Arch, code: &[u8], holes: &[HoleMark<'_>]) -> String {
    let mut out = String::new();
    for line in decode(arch, code, 0) {
        let _ = writeln!(out, "{}", format_line(&line, code, 0));
        let (start, end) = (line.offset as u64, (line.offset + line.len) as u64);
        for hole in holes.iter().filter(|h| (start..end).contains(&h.offset)) {
            let symbol = hole.symbol.map_or(String::new(), |s| format!(" + &{s}"));
            let addend = match hole.addend {
                0 => String::new(),
                a if a < 0 => format!(" - {:#x}", a.unsigned_abs()),
                a => format!(" + {a:#x}"),
            };
            let _ = writeln!(
                out,
                "        ^ hole at {:#x}: {} {}{symbol}{addend}",
                hole.offset,
                hole.patch.func_name(),
                hole.value
            );
        }
    }
    out
}

fn decode_x86(bitness: u32, code: &[u8], address: u64) -> Vec<Line> {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let mut decoder = Decoder::with_ip(bitness, code, address, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    let mut lines = Vec::new();
    while decoder.can_decode() {
        let offset = decoder.position();
        let instruction = decoder.decode();
        if instruction.is_invalid() {
            lines.push(Line {
                offset,
                len: 1,
                text: format!(".byte {:#04x}", code[offset]),
            });
            // Resynchronise one byte further on.
            if decoder.set_position(offset + 1).is_err() {
                break;
            }
            decoder.set_ip(address + offset as u64 + 1);
            continue;
        }
        let mut text = String::new();
        formatter.format(&instruction, &mut text);
        lines.push(Line {
            offset,
            len: instruction.len(),
            text,
        });
    }
    lines
}

fn decode_aarch64(code: &[u8]) -> Vec<Line> {
    use yaxpeax_arch::{Decoder, U8Reader};
    use yaxpeax_arm::armv8::a64::InstDecoder;
    let decoder = InstDecoder::default();
    code.chunks(4)
        .enumerate()
        .map(|(i, word)| {
            let text = if word.len() < 4 {
                format!(".byte {word:02x?}")
            } else {
                let mut reader = U8Reader::new(word);
                match decoder.decode(&mut reader) {
                    Ok(instruction) => instruction.to_string(),
                    Err(_) => format!(
                        ".word {:#010x}",
                        u32::from_le_bytes([word[0], word[1], word[2], word[3]])
                    ),
                }
            };
            Line {
                offset: i * 4,
                len: word.len(),
                text,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_with_an_undecodable_byte() {
        // movabs rax, 1; (0x06 is invalid in 64-bit mode); ret
        let code = [0x48, 0xB8, 1, 0, 0, 0, 0, 0, 0, 0, 0x06, 0xC3];
        let lines = decode(Arch::X86_64, &code, 0x1000);
        let texts: Vec<(usize, usize, &str)> = lines
            .iter()
            .map(|l| (l.offset, l.len, l.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [(0, 10, "mov rax,1"), (10, 1, ".byte 0x06"), (11, 1, "ret")]
        );
        assert_eq!(
            format_line(&lines[2], &code, 0x1000),
            "  100b: c3                             ret"
        );
    }

    #[test]
    fn x86_relative_branch_targets_use_the_address() {
        // jmp +0 (to the next instruction)
        let code = [0xE9, 0, 0, 0, 0];
        assert_eq!(
            decode(Arch::X86_64, &code, 0x4000)[0].text,
            "jmp 0000000000004005h"
        );
        assert_eq!(decode(Arch::I686, &code, 0x4000)[0].text, "jmp 00004005h");
    }

    #[test]
    fn listing_marks_holes_under_the_instruction_holding_them() {
        // movabs rax, <hole>; call rel32 <hole>; ret
        let code = [0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xE8, 0, 0, 0, 0, 0xC3];
        let table = HoleValue::Zero;
        let helper = HoleValue::Custom("HELPER".to_string());
        let holes = [
            HoleMark {
                offset: 2,
                patch: PatchKind::Abs64,
                value: &table,
                symbol: Some("table"),
                addend: -8,
            },
            HoleMark {
                offset: 11,
                patch: PatchKind::Rel32,
                value: &helper,
                symbol: None,
                addend: 0x10,
            },
        ];
        let text = listing(Arch::X86_64, &code, &holes);
        assert!(text.ends_with('\n'), "{text}");
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "     0: 48 b8 00 00 00 00 00 00 00 00  mov rax,0",
                "        ^ hole at 0x2: patch_64 ZERO + &table - 0x8",
                "     a: e8 00 00 00 00                 call 000000000000000Fh",
                "        ^ hole at 0xb: patch_32r HELPER + 0x10",
                "     f: c3                             ret",
            ]
        );
    }

    #[test]
    fn aarch64_words_and_a_short_tail() {
        // ret; an unallocated encoding; two stray bytes
        let code = [0xC0, 0x03, 0x5F, 0xD6, 0xFF, 0xFF, 0xFF, 0xFF, 0xAA, 0xBB];
        let lines = decode(Arch::Aarch64, &code, 0);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts[0], "ret");
        assert_eq!(texts[1], ".word 0xffffffff");
        assert_eq!(texts[2], ".byte [aa, bb]");
        assert_eq!(lines[2].len, 2);
    }
}

/// The README's example, run as a doctest so the published front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
