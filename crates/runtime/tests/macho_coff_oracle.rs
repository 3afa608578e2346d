//! Mach-O and COFF oracle: each template is compiled for a macOS or Windows target, extracted
//! and emitted by patchjit "as if" at the address where a real linker put it, and linked by
//! that format's LLVM linker (`ld64.lld-19`, `lld-link-19`) with every `_JIT_*` symbol defined
//! to the value the emitter used. Holes must come out byte for byte as the linker wrote them;
//! where patchjit legitimately chooses another instruction sequence (CPython's GOT
//! relaxations, its own GOT and trampolines against the linker's relaxation, stubs and import
//! slots) both sequences are decoded and must reach the same value the same way.
//!
//! Values reached through a GOT are what a loader would supply: on Windows the code loads
//! `__imp_X` slots (the templates use `dllimport`, like CPython's), defined here holding the
//! value; on macOS, `ld64.lld` relaxes GOT loads of absolute symbols itself, and a value out of
//! its reach is imported from a dylib, whose bind entry names the value dyld would store.

#![cfg(target_os = "linux")]

mod support;

use patchjit::{HoleValue, PatchKind};
use patchjit_stencils::{Format, Target};
use support::aarch64::{branch_target, evaluate, word, NOP};
use support::x86::reach as x86_reach;
use support::{values, Linked, Values};

/// What a comparison found, so tests can assert that each form was exercised.
#[derive(Default, Debug)]
struct Seen {
    /// Holes whose bytes equal the linker's.
    exact: Vec<PatchKind>,
    /// References into data sections, compared by the offset they reach.
    data: Vec<PatchKind>,
    /// GOT references compared by what they reach, with patchjit's form.
    got: Vec<&'static str>,
    /// External branches: "direct" or "trampoline".
    branches: Vec<&'static str>,
}

/// Links `object` with the target's linker; `text + code_len` is `_JIT_CONTINUE`.
fn link(target: Target, name: &str, object: &[u8], code_len: u64, v: Values) -> Linked {
    // Windows templates import every value; ld64.lld resolves near absolute symbols itself.
    let (imported, absolute): (Vec<_>, Vec<_>) = v
        .symbols()
        .into_iter()
        .partition(|&(_, value)| target.format() == Format::Coff || value >= 1 << 31);
    let symbols = move |text: u64| {
        let mut s = vec![
            ("_JIT_CONTINUE", text + code_len),
            ("_JIT_JUMP_TARGET", text),
            ("_JIT_ERROR_TARGET", text),
        ];
        s.extend(absolute.iter().copied());
        s
    };
    match target.format() {
        Format::MachO => support::link_macho(target, name, object, &symbols, &imported),
        Format::Coff => support::link_coff(target, name, object, &symbols, &imported),
        Format::Elf => unreachable!("ELF has its own oracles"),
    }
}

/// Where a Mach-O object's first data section lands in its data stencil: the aligned layout
/// starts the data at that section's address rounded down to the largest alignment of the data
/// sections.
fn data_section_offset(target: Target, object: &[u8]) -> u64 {
    use object::{Object, ObjectSection, SectionKind};
    if target.format() != Format::MachO {
        return 0;
    }
    let file = object::File::parse(object).unwrap();
    let data: Vec<_> = file
        .sections()
        .filter(|s| s.size() > 0 && s.kind() != SectionKind::Text)
        .collect();
    let align = data.iter().map(|s| s.align()).fold(1, u64::max);
    data.iter()
        .map(|s| s.address())
        .min()
        .map_or(0, |start| start % align)
}

/// The address an AArch64 `ADRP` + low-12 instruction pair at `adrp`, `at` addresses.
fn aarch64_pair_target(bytes: &[u8], base: u64, adrp: usize, at: usize) -> u64 {
    let i = word(bytes, at);
    let scale = if i & 0x3B00_0000 == 0x3900_0000 {
        // LDR/STR (unsigned immediate): scaled by the access size (128-bit SIMD: 16).
        if i & (1 << 26) != 0 && i & (1 << 23) != 0 && i >> 30 == 0 {
            4
        } else {
            i >> 30
        }
    } else {
        0
    };
    support::aarch64::adrp_page(word(bytes, adrp), base + adrp as u64)
        + ((((i >> 10) & 0xFFF) as u64) << scale)
}

fn compare(target: Target, name: &str, v: Values, seen: &mut Seen) {
    let support::Compiled {
        object,
        table,
        got_offset,
    } = support::compile_with_ret(target, name, &[]);
    let got_offset = got_offset as u64;
    let group = table.groups.iter().find(|g| g.name == name).unwrap();
    let len = group.code.len as usize;
    let linked = link(target, name, &object, len as u64, v);
    let base = linked.text_address;
    let (ours, data_offset) = support::emit_alone(table, name, v, base, None);
    // References into data sections must reach the same offset into the same section: the
    // linker places the section at its own address, the emitter at `data_offset` plus the gap
    // the aligned layout keeps before it.
    let section_offset = data_section_offset(target, &object);
    let our_section = base + data_offset as u64 + section_offset;
    let their_section = [".rdata", "__const", "__literals"]
        .into_iter()
        .find_map(|n| linked.section(n).filter(|(a, _)| *a > base));
    let word_size = if target == Target::I686PcWindowsMsvc {
        4
    } else {
        8
    };
    let our_word = |a: u64, size: usize| {
        let at = (a - base) as usize;
        let mut word = [0u8; 8];
        word[..size].copy_from_slice(&ours[at..at + size]);
        u64::from_le_bytes(word)
    };
    let our_read = |a: u64| our_word(a, 8);
    let arm = matches!(
        target,
        Target::Aarch64AppleDarwin | Target::Aarch64PcWindowsMsvc
    );
    let same_data_offset = |context: &str, mine: u64, theirs: u64| {
        let (section, _) = their_section.unwrap_or_else(|| panic!("{context}: no data section"));
        assert_eq!(
            mine.wrapping_sub(our_section),
            theirs.wrapping_sub(section),
            "{context}: reaches another place in the data section"
        );
    };
    let mut compared = vec![false; len];
    let mut mark = |at: usize, n: usize| compared[at..at + n].iter_mut().for_each(|c| *c = true);
    for hole in group.code.holes {
        let at = hole.offset as usize;
        let pc = base + at as u64;
        let context = format!("{target} {name} {:?} at {at:#x}", hole.patch);
        let bias = matches!(hole.patch, PatchKind::Rel32 | PatchKind::X86_64Rel32x) as i64 * 4;
        let data = hole.value == HoleValue::Data;
        let is_got = data && hole.addend + bias >= got_offset as i64;
        // The ADRP (GOT or data page) whose register the instruction at `at` uses as base.
        let adrp_for = |at: usize| {
            let register = (word(&ours, at) >> 5) & 0x1F;
            group
                .code
                .holes
                .iter()
                .filter(|h| {
                    matches!(
                        h.patch,
                        PatchKind::Aarch64Page21r | PatchKind::Aarch64Page21rx
                    ) && (h.offset as usize) < at
                })
                .rfind(|h| word(&ours, h.offset as usize) & 0x1F == register)
                .map(|h| (h.offset as usize, h.patch))
                .unwrap_or_else(|| panic!("{context}: no ADRP for this instruction"))
        };
        match hole.patch {
            PatchKind::Aarch64Pair33rx => {
                let mine = evaluate(word(&ours, at), word(&ours, at + 4), pc, &our_read);
                let theirs = evaluate(
                    word(&linked.text, at),
                    word(&linked.text, at + 4),
                    pc,
                    &|a| linked.read64(a),
                );
                assert_eq!(mine, theirs, "{context}: loaded (register, value) differ");
                seen.got
                    .push(match (word(&ours, at) >> 24, word(&ours, at + 4)) {
                        (0xD2, NOP) => "movz",
                        (0xD2, _) => "movz+movk",
                        (0x58, _) => "ldr literal",
                        _ => "adrp+ldr",
                    });
                mark(at, 8);
            }
            // An ADRP is checked with the instruction that completes its address.
            PatchKind::Aarch64Page21r | PatchKind::Aarch64Page21rx if data => mark(at, 4),
            PatchKind::Aarch64Lo12x | PatchKind::Aarch64Lo12 if is_got => {
                let (adrp, _) = adrp_for(at);
                let slot = |bytes: &[u8]| aarch64_pair_target(bytes, base, adrp, at);
                assert_eq!(
                    our_read(slot(&ours)),
                    linked.read64(slot(&linked.text)),
                    "{context}: GOT slot contents differ"
                );
                seen.got.push("adrp/ldr");
                mark(at, 4);
            }
            PatchKind::Aarch64Lo12x | PatchKind::Aarch64Lo12 if data => {
                let (adrp, page_kind) = adrp_for(at);
                same_data_offset(
                    &context,
                    aarch64_pair_target(&ours, base, adrp, at),
                    aarch64_pair_target(&linked.text, base, adrp, at),
                );
                seen.data.extend([page_kind, hole.patch]);
                mark(at, 4);
            }
            PatchKind::Aarch64Trampoline => {
                let (mine, theirs) = (word(&ours, at), word(&linked.text, at));
                if mine == theirs {
                    seen.branches.push("direct");
                } else {
                    // Ours goes through a trampoline, the linker's through a stub: each loads
                    // the helper's address and branches to it.
                    let slot = branch_target(mine, pc);
                    let at = (slot - base) as usize;
                    assert_eq!(word(&ours, at), 0x5800_0048, "{context}: LDR x8, #8");
                    assert_eq!(word(&ours, at + 4), 0xD61F_0100, "{context}: BR x8");
                    let stub = branch_target(theirs, pc);
                    let read = |a: u64| linked.read(a, 4) as u32;
                    let (_, loaded) =
                        evaluate(read(stub), read(stub + 4), stub, &|a| linked.read64(a));
                    assert_eq!(our_read(slot + 8), loaded, "{context}: trampoline target");
                    assert_eq!(loaded, v.helper, "{context}: stub target");
                    seen.branches.push("trampoline");
                }
                mark(at, 4);
            }
            kind if is_got && !arm => {
                // An x86 GOT reference (COFF `__imp_` slot or Mach-O GOT load).
                let absolute = kind == PatchKind::Abs32;
                let mine = x86_reach(&ours, at, base, absolute, &|a| our_word(a, word_size));
                let theirs = x86_reach(&linked.text, at, base, absolute, &|a| {
                    linked.read(a, word_size)
                });
                assert_eq!(
                    mine, theirs,
                    "{context}: GOT operand reaches different values"
                );
                if mine.0 != "call" && mine.0 != "jmp" {
                    // Same prefix (if any: a 32-bit load at the stencil's start has none) and
                    // register: only the opcode (mov/lea) may differ.
                    if at >= 3 {
                        assert_eq!(ours[at - 3], linked.text[at - 3], "{context}: prefix");
                    }
                    assert_eq!(ours[at - 1], linked.text[at - 1], "{context}: ModRM");
                }
                seen.got.push(match [ours[at - 2], ours[at - 1]] {
                    [0x90, _] | [0x8D, _] => "relaxed",
                    _ => "slot",
                });
                mark(at - 2, 6);
            }
            kind if data && !arm => {
                let reached = |bytes: &[u8]| {
                    let field = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
                    match kind {
                        PatchKind::Abs32 => field as u64,
                        PatchKind::Abs64 => {
                            u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
                        }
                        _ => (pc + 4).wrapping_add(field as i32 as u64),
                    }
                };
                same_data_offset(&context, reached(&ours), reached(&linked.text));
                seen.data.push(kind);
                mark(at, usize::from(kind.width()));
            }
            kind => {
                let n = usize::from(kind.width());
                assert_eq!(
                    &ours[at..at + n],
                    &linked.text[at..at + n],
                    "{context}: patched bytes differ"
                );
                seen.exact.push(kind);
                mark(at, n);
            }
        }
    }
    // Every byte outside holes is the linker's, except what extraction removed at the end.
    for at in 0..len {
        if compared[at] {
            continue;
        }
        let last_word = arm && at >= len - 4;
        if arm && at >= linked.text.len() {
            assert_eq!(word(&ours, at & !3), NOP, "{name}: padding at {at:#x}");
        } else if last_word
            && word(&ours, len - 4) == NOP
            && word(&linked.text, len - 4) & 0xFC00_0000 == 0x1400_0000
        {
            // CPython's post-processing replaced the trailing `B _JIT_CONTINUE` by a NOP.
        } else {
            assert_eq!(
                ours[at], linked.text[at],
                "{target} {name}: code byte {at:#x} differs"
            );
        }
    }
    // The data section's bytes, relocations applied (pointers to code are absolute and equal).
    if let Some((_, theirs)) = their_section.filter(|_| got_offset > 0) {
        let start = data_offset + section_offset as usize;
        let n = theirs
            .len()
            .min(got_offset as usize - section_offset as usize);
        assert_eq!(
            &ours[start..start + n],
            &theirs[..n],
            "{target} {name}: data section differs"
        );
        for hole in group.data.holes {
            if (hole.offset as u64) < got_offset {
                seen.exact.push(hole.patch);
            }
        }
    }
}

const BRANCHING: [&str; 5] = [
    "dec_jump_nonzero",
    "error_if_negative",
    "jump",
    "add",
    "lookup",
];

/// Runs every template with near and far values on `target`.
fn all_forms(target: Target, far: u64) -> Seen {
    let mut seen = Seen::default();
    for name in BRANCHING {
        compare(target, name, values(7, 0), &mut seen);
    }
    compare(target, "pointers", values(0, 0), &mut seen);
    compare(target, "mul_oparg", values(0, 0), &mut seen);
    for operand0 in [0x42, 0xDEAD_BEEF, far] {
        compare(target, "load", values(operand0, 0), &mut seen);
    }
    seen
}

fn assert_has(seen: &Seen, kinds: &[PatchKind], got: &[&str]) {
    for k in kinds {
        assert!(
            seen.exact.contains(k) || seen.data.contains(k),
            "{k:?} not exercised: {seen:?}"
        );
    }
    for g in got {
        assert!(seen.got.contains(g), "GOT form {g} not exercised: {seen:?}");
    }
}

#[test]
fn macho_x86_64_matches_ld64_lld() {
    let t = Target::X86_64AppleDarwin;
    let mut seen = all_forms(t, 0x1122_3344_5566_7788);
    // A 16-byte literal reached by a non-extern X86_64_RELOC_SIGNED.
    compare(t, "vector_add", values(7, 0), &mut seen);
    // `call _helper` is a plain rel32 on macOS (no GOT call to relax).
    compare(t, "call_helper", values(0, 0x7000_0000), &mut seen);
    assert_has(
        &seen,
        &[PatchKind::Rel32, PatchKind::Abs64],
        &["relaxed", "slot"],
    );
}

#[test]
fn macho_aarch64_matches_ld64_lld() {
    let t = Target::Aarch64AppleDarwin;
    let mut seen = all_forms(t, 0x1234_5678_9ABC);
    // A 16-byte literal, its section 16-aligned in the object and in the data stencil.
    compare(t, "vector_add", values(7, 0), &mut seen);
    compare(t, "far_data", values(0x1234_5678_9ABC, 0), &mut seen);
    compare(t, "call_helper", values(0, 0x10_0000), &mut seen);
    compare(t, "call_helper", values(0, 1 << 40), &mut seen);
    assert_has(
        &seen,
        &[
            PatchKind::Aarch64Page21r,
            PatchKind::Aarch64Lo12,
            PatchKind::Aarch64Branch26r,
            PatchKind::Abs64,
        ],
        &["movz", "movz+movk", "ldr literal", "adrp+ldr"],
    );
    assert_eq!(seen.branches, ["direct", "trampoline"]);
}

#[test]
fn coff_x86_64_matches_lld_link() {
    let t = Target::X86_64PcWindowsMsvc;
    let mut seen = all_forms(t, 0x1122_3344_5566_7788);
    // A 16-byte literal, its section 16-aligned in the object and in the data stencil.
    compare(t, "vector_add", values(7, 0), &mut seen);
    compare(t, "call_helper", values(0, 0x5000_0000), &mut seen);
    compare(t, "call_helper", values(0, 0x7FFF_0000_0000), &mut seen);
    assert_has(
        &seen,
        &[PatchKind::X86_64Rel32x, PatchKind::Abs64],
        &["relaxed", "slot"],
    );
}

#[test]
fn coff_i686_matches_lld_link() {
    let t = Target::I686PcWindowsMsvc;
    let mut seen = all_forms(t, 0x8765_4321);
    compare(t, "call_helper", values(0, 0x5000_0000), &mut seen);
    assert_has(
        &seen,
        &[PatchKind::Abs32, PatchKind::X86_64Rel32x],
        &["slot"],
    );
}

#[test]
fn coff_aarch64_matches_lld_link() {
    let t = Target::Aarch64PcWindowsMsvc;
    let mut seen = all_forms(t, 0x1234_5678_9ABC);
    // A 16-byte literal, its section 16-aligned in the object and in the data stencil.
    compare(t, "vector_add", values(7, 0), &mut seen);
    compare(t, "far_data", values(0x1234_5678_9ABC, 0), &mut seen);
    compare(t, "call_helper", values(0, 0x5000_0000), &mut seen);
    // COFF has one ADRP relocation (PAGEBASE_REL21) for data and imports alike.
    assert_has(
        &seen,
        &[
            PatchKind::Aarch64Page21rx,
            PatchKind::Aarch64Lo12,
            PatchKind::Aarch64Branch26r,
            PatchKind::Abs64,
        ],
        &["movz", "movz+movk", "adrp+ldr"],
    );
}

/// Narrow values are ordinary 64-bit values from GOT (Mach-O) or import (COFF) slots on these
/// formats, holding the value's bit pattern: every extreme of each type loads what the linker's
/// slot holds.
#[test]
fn narrow_values_match_the_linkers() {
    for target in [
        Target::X86_64AppleDarwin,
        Target::Aarch64AppleDarwin,
        Target::X86_64PcWindowsMsvc,
        Target::I686PcWindowsMsvc,
        Target::Aarch64PcWindowsMsvc,
    ] {
        let mut seen = Seen::default();
        for (name, _, _, extremes) in support::NARROW_TEMPLATES {
            for value in extremes {
                compare(target, name, Values::narrow(value as u64), &mut seen);
            }
        }
        assert!(!seen.got.is_empty(), "{target}: {seen:?}");
    }
}
