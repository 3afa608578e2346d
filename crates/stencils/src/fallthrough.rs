//! Hot-path fallthrough: a stencil whose code ends in `jcc CONTINUE; jmp X` (the usual shape of
//! `if (cond) JUMP(); NEXT();` once clang has laid it out) becomes `j!cc X`, falling through to
//! the next stencil — one instruction and one taken jump fewer on the path that continues.
//! CPython 3.15 does the same on the assembly; here it is done on the extracted code, where the
//! two jumps and their holes are unambiguous.
//!
//! On AArch64 the shape is `b.cond CONTINUE; b X` (or `cbz`/`cbnz`), the conditional branch
//! local (no relocation: the continuation is the stencil's end, after trailing-jump removal)
//! and followed only by NOP padding; it becomes `b.!cond X` with an
//! [`PatchKind::Aarch64Branch19r`] hole. clang's other layout, `b.cond L; b CONTINUE; L: b X`,
//! becomes `b.cond X`. That branch reaches ±1 MiB instead of `b`'s ±128 MiB:
//! a program whose jump spans more is refused by the emitter's range check, never truncated.
//!
//! The rewrite is refused (the stencil stays as it was) when anything else might jump to the
//! removed jump or after it. x86: every byte offset is tried as the start of a direct branch
//! (`jmp`/`jcc`/`call` rel8 or rel32, `loop`/`jrcxz`) whose displacement is not a hole; some of
//! those are not instructions at all, and being wrong that way only costs the optimization.
//! AArch64: every instruction word that is a direct branch without a hole. On both, so does a
//! hole taking the address of this stencil's code there (`CODE` + addend).

use patchjit_vocab::{Arch, Format, PatchKind, RelocKind, Target};

use crate::hole::{Extraction, Hole, HoleValue, Stencil};

/// Whether a hole refers to this stencil's own code at `from` or after it (an address taken of
/// a label there): counted from 4 bytes early, as x86 PC-relative addends are 4 short.
fn refers_into(code: &Stencil, from: usize) -> bool {
    let range = from as i64 - 4..=code.body.len() as i64;
    code.holes
        .iter()
        .any(|h| h.value == HoleValue::Code && h.symbol.is_none() && range.contains(&h.addend))
}

/// `jmp rel32` and `jcc rel32` sizes: `E9 d32` and `0F 8c d32`.
const JMP: usize = 5;
const JCC: usize = 6;

/// Rewrites every group of `extraction` (built for `target`) whose code ends in a conditional
/// jump to the continuation followed by a jump elsewhere; returns how many were rewritten.
/// x86-64, i686 and AArch64 ELF code is rewritten (AArch64 Mach-O and COFF have no relocation
/// type the extraction could name for the new 19-bit branch's hole).
pub fn fall_through(extraction: &mut Extraction, target: Target) -> usize {
    let rewrite: fn(&mut Stencil, Target) -> bool = match (target.arch(), target.format()) {
        (Arch::X86_64 | Arch::I686, _) => |code, _| rewrite_x86(code),
        (Arch::Aarch64, Format::Elf) => rewrite_aarch64,
        (Arch::Aarch64, Format::MachO | Format::Coff) => return 0,
    };
    extraction
        .groups
        .iter_mut()
        .map(|g| rewrite(&mut g.code, target))
        .filter(|&rewritten| rewritten)
        .count()
}

fn rewrite_x86(code: &mut Stencil) -> bool {
    let len = code.body.len();
    let Some(jcc) = len.checked_sub(JMP + JCC) else {
        return false;
    };
    let body = &code.body;
    if body[jcc] != 0x0f || body[jcc + 1] & 0xf0 != 0x80 || body[len - JMP] != 0xe9 {
        return false;
    }
    let at = |offset: usize| code.holes.iter().position(|h| h.offset == offset as u64);
    let (Some(to_continue), Some(to_target)) = (at(jcc + 2), at(len - 4)) else {
        return false;
    };
    let (c, t) = (&code.holes[to_continue], &code.holes[to_target]);
    // Both PC-relative to the end of their instruction, the first to the next stencil.
    let relative =
        |h: &Hole| h.patch.width() == 4 && h.kind.patch_kind() == h.patch && !h.kind.is_got();
    if !(relative(c) && relative(t))
        || c.value != HoleValue::Continue
        || c.symbol.is_some()
        || c.addend != -4
        || t.addend != -4
        || reaches_x86(code, len - JMP, jcc)
    {
        return false;
    }
    let (value, symbol) = (t.value.clone(), t.symbol.clone());
    let hole = &mut code.holes[to_continue];
    hole.value = value;
    hole.symbol = symbol;
    code.holes.remove(to_target);
    code.body[jcc + 1] ^= 1;
    code.body.truncate(len - JMP);
    true
}

/// Whether a direct branch anywhere in `code` but the `jcc` at `skip` may land at `from` or
/// after it, up to the end (bytes that are holes are relocated elsewhere and do not count).
fn reaches_x86(code: &Stencil, from: usize, skip: usize) -> bool {
    let body = &code.body;
    let in_hole = |start: usize, n: usize| {
        code.holes.iter().any(|h| {
            let (a, b) = (
                h.offset as usize,
                h.offset as usize + usize::from(h.patch.width()),
            );
            start < b && a < start + n
        })
    };
    // Only the stencil's own bytes can be an internal branch's target; a candidate landing
    // outside them is not one (it is data or the middle of another instruction).
    let lands = |next: usize, displacement: i64| {
        (from as i64..=body.len() as i64).contains(&(next as i64 + displacement))
    };
    refers_into(code, from)
        || (0..body.len()).any(|i| {
            if i == skip {
                return false;
            }
            let rel8 = || body.get(i + 1).map(|&d| d as i8 as i64);
            let rel32 = |at: usize| {
                body.get(at..at + 4)
                    .filter(|_| !in_hole(at, 4))
                    .map(|d| i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64)
            };
            match body[i] {
                0x70..=0x7f | 0xeb | 0xe0..=0xe3 => rel8().is_some_and(|d| lands(i + 2, d)),
                0xe8 | 0xe9 => rel32(i + 1).is_some_and(|d| lands(i + 5, d)),
                0x0f if body.get(i + 1).is_some_and(|b| b & 0xf0 == 0x80) => {
                    rel32(i + 2).is_some_and(|d| lands(i + 6, d))
                }
                _ => false,
            }
        })
}

const AARCH64_NOP: u32 = 0xD503_201F;

/// A direct AArch64 branch's target offset, if `word` at `at` is one: `b`/`bl` (imm26),
/// `b.cond`/`bc.cond`, `cbz`/`cbnz` (imm19) or `tbz`/`tbnz` (imm14).
fn aarch64_branch_target(word: u32, at: usize) -> Option<i64> {
    let field = |shift: u32, bits: u32| {
        let raw = (word >> shift) & ((1 << bits) - 1);
        i64::from(((raw << (32 - bits)) as i32) >> (32 - bits)) * 4
    };
    let displacement = if word & 0x7C00_0000 == 0x1400_0000 {
        field(0, 26)
    } else if word & 0xFF00_0000 == 0x5400_0000 || word & 0x7E00_0000 == 0x3400_0000 {
        field(5, 19)
    } else if word & 0x7E00_0000 == 0x3600_0000 {
        field(5, 14)
    } else {
        return None;
    };
    Some(at as i64 + displacement)
}

/// `word` with its displacement cleared, and the bit that inverts its condition, if it is a
/// conditional branch with an imm19 and an inverse: `b.cond` (never `al`/`nv`; the condition's
/// low bit), `cbz`/`cbnz` (bit 24). `None` for anything else: `bc.cond`, and `tbz`/`tbnz`,
/// which clang 19 uses for sign tests (`if (x < 0)`), but whose ±32 KiB reach would make every
/// program with more code than that fail to emit.
fn aarch64_conditional(word: u32) -> Option<(u32, u32)> {
    let cleared = word & !(0x7FFFF << 5);
    if word & 0xFF00_0010 == 0x5400_0000 && word & 0xE != 0xE {
        Some((cleared, 1))
    } else if word & 0x7E00_0000 == 0x3400_0000 {
        Some((cleared, 1 << 24))
    } else {
        None
    }
}

/// The two layouts clang gives `if (cond) JUMP(); NEXT();` once the trailing `b CONTINUE` is
/// gone: `c CONTINUE; b X` becomes `!c X`, and `c L; b CONTINUE; L: b X` becomes `c X`.
fn rewrite_aarch64(code: &mut Stencil, target: Target) -> bool {
    let word = |at: usize| {
        let b = &code.body[at..at + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let len = code.body.len();
    if !len.is_multiple_of(4) {
        return false;
    }
    // The final `b`, after any NOP padding (which falls through to the continuation too).
    let mut end = len;
    while end >= 4 && word(end - 4) == AARCH64_NOP {
        end -= 4;
    }
    let Some(jump) = end.checked_sub(4) else {
        return false;
    };
    let at = |offset: usize| code.holes.iter().position(|h| h.offset == offset as u64);
    let direct = |h: &Hole| {
        h.patch == PatchKind::Aarch64Branch26r && h.kind.patch_kind() == h.patch && !h.kind.is_got()
    };
    let is_b = |at: usize| word(at) & 0xFC00_0000 == 0x1400_0000;
    let Some(to_target) = at(jump).filter(|&i| is_b(jump) && direct(&code.holes[i])) else {
        return false;
    };
    // `b CONTINUE` before the final `b`: the second layout.
    let to_continue = jump.checked_sub(4).and_then(|before| {
        let i = at(before)?;
        let h = &code.holes[i];
        let plain = h.value == HoleValue::Continue && h.symbol.is_none() && h.addend == 0;
        (is_b(before) && direct(h) && plain).then_some((before, i))
    });
    let (removed, lands) = match to_continue {
        Some((before, _)) => (before, jump..=jump),
        None => (jump, end..=len),
    };
    let Some(cond) = removed.checked_sub(4) else {
        return false;
    };
    let Some((cleared, invert)) = aarch64_conditional(word(cond)) else {
        return false;
    };
    let continues =
        aarch64_branch_target(word(cond), cond).is_some_and(|to| lands.contains(&(to as usize)));
    if !continues || at(cond).is_some() || reaches_aarch64(code, removed, cond) {
        return false;
    }
    let t = &code.holes[to_target];
    let hole = Hole {
        offset: cond as u64,
        kind: RelocKind::R_AARCH64_CONDBR19,
        value: t.value.clone(),
        symbol: t.symbol.clone(),
        addend: t.addend,
        patch: PatchKind::Aarch64Branch19r,
    };
    let branch = match to_continue {
        Some(_) => cleared,
        None => cleared ^ invert,
    };
    // Nothing lies between the branches, so the new hole takes the first removed one's place
    // in offset order.
    match to_continue {
        Some((_, i)) => {
            code.holes[i] = hole;
            code.holes.remove(to_target);
        }
        None => code.holes[to_target] = hole,
    }
    code.body[cond..removed].copy_from_slice(&branch.to_le_bytes());
    code.body.truncate(removed);
    let align = target.code_alignment();
    while !code.body.len().is_multiple_of(align) {
        code.body.extend_from_slice(target.nop());
    }
    true
}

/// Whether a direct branch in `code` other than the one at `skip`, and not itself a hole, lands
/// at `from` or after it, up to the end.
fn reaches_aarch64(code: &Stencil, from: usize, skip: usize) -> bool {
    let body = &code.body;
    refers_into(code, from)
        || (0..body.len() / 4).map(|i| i * 4).any(|at| {
            let word = u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
            at != skip
                && !code.holes.iter().any(|h| h.offset == at as u64)
                && aarch64_branch_target(word, at)
                    .is_some_and(|to| (from as i64..=body.len() as i64).contains(&to))
        })
}

#[cfg(test)]
mod tests {
    use patchjit_vocab::{PatchKind, RelocKind};

    use super::*;
    use crate::hole::{Hole, StencilGroup};

    fn branch(value: HoleValue, offset: u64) -> Hole {
        Hole {
            offset,
            kind: RelocKind::R_X86_64_PLT32,
            value,
            symbol: None,
            addend: -4,
            patch: PatchKind::Rel32,
        }
    }

    /// `prefix`, then `jne CONTINUE; jmp JUMP_TARGET`.
    fn extraction(prefix: &[u8]) -> Extraction {
        let mut body = prefix.to_vec();
        let jcc = body.len() as u64;
        body.extend([0x0f, 0x85, 0, 0, 0, 0, 0xe9, 0, 0, 0, 0]);
        let code = Stencil {
            body,
            holes: vec![
                branch(HoleValue::Continue, jcc + 2),
                branch(HoleValue::JumpTarget, jcc + 7),
            ],
        };
        Extraction {
            groups: vec![StencilGroup {
                name: "branch".into(),
                code,
                data: Stencil::default(),
                data_section_len: 0,
                got_offset: 0,
                data_align: 8,
                trampolines: vec![],
            }],
            trampoline_symbols: vec![],
        }
    }

    #[test]
    fn jcc_continue_then_jmp_becomes_the_inverse_jcc() {
        let mut e = extraction(&[0x48, 0x85, 0xc0]); // test rax, rax
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 1);
        let code = &e.groups[0].code;
        assert_eq!(code.body, [0x48, 0x85, 0xc0, 0x0f, 0x84, 0, 0, 0, 0]);
        assert_eq!(code.holes, [branch(HoleValue::JumpTarget, 5)]);
        // Nothing left to rewrite the second time.
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 0);
    }

    #[test]
    fn a_stencil_another_branch_may_reach_is_left_alone() {
        // After a 3-byte prefix the `jcc` is at 3 and the final `jmp` at 9 (end 14): `jmp +7`
        // lands on it, `je +11` at its end; after a 5-byte prefix (jmp at 11) `call +7` on it.
        for prefix in [
            &[0xeb, 0x07, 0x90][..],
            &[0x74, 0x0c, 0x90],
            &[0xe8, 0x07, 0, 0, 0],
        ] {
            let mut e = extraction(prefix);
            let before = e.clone();
            assert_eq!(
                fall_through(&mut e, Target::X86_64UnknownLinuxGnu),
                0,
                "{prefix:x?}"
            );
            assert_eq!(e, before);
        }
        // A branch landing before the jumps, or a branch-like byte whose "target" lies outside
        // the stencil (`mov rax, r13` is 4c 89 e8 ...), is harmless.
        for prefix in [
            &[0xeb, 0x00, 0x90][..],
            &[0x4c, 0x89, 0xe8, 0x49, 0xff, 0xcd],
        ] {
            let mut e = extraction(prefix);
            assert_eq!(
                fall_through(&mut e, Target::X86_64UnknownLinuxGnu),
                1,
                "{prefix:x?}"
            );
        }
    }

    #[test]
    fn other_shapes_are_left_alone() {
        let mut e = extraction(&[]);
        e.groups[0].code.holes[0].value = HoleValue::ErrorTarget;
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 0);
        let mut e = extraction(&[]);
        assert_eq!(fall_through(&mut e, Target::Aarch64UnknownLinuxGnu), 0);
        assert_eq!(fall_through(&mut e, Target::X86_64AppleDarwin), 1);
        let mut e = extraction(&[]);
        e.groups[0].code.body.push(0x90);
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 0);
    }

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// `prefix`, then `cond` (branching past the `b`), `b JUMP_TARGET` and NOP padding to 8.
    fn aarch64(prefix: &[u32], cond: u32) -> Extraction {
        let jump = 4 * (prefix.len() + 1);
        let mut code = [prefix, &[cond | (2 << 5), 0x1400_0000]].concat();
        if code.len() % 2 != 0 {
            code.push(AARCH64_NOP);
        }
        let mut e = extraction(&[]);
        e.groups[0].code = Stencil {
            body: words(&code),
            holes: vec![Hole {
                offset: jump as u64,
                kind: RelocKind::R_AARCH64_JUMP26,
                value: HoleValue::JumpTarget,
                symbol: None,
                addend: 0,
                patch: PatchKind::Aarch64Branch26r,
            }],
        };
        e
    }

    const CMP_X25_X26: u32 = 0xEB1A_033F;
    const MOV_X0_X1: u32 = 0xAA01_03E0;
    const B_NE: u32 = 0x5400_0001;
    const LINUX_ARM: Target = Target::Aarch64UnknownLinuxGnu;

    #[test]
    fn aarch64_b_cond_continue_then_b_becomes_the_inverse_b_cond() {
        // b.ne CONTINUE; b X → b.eq X; cbnz x0 → cbz x0; b.hi (cond 8) → b.ls (9).
        for (prefix, cond, inverse) in [
            (&[CMP_X25_X26][..], B_NE, 0x5400_0000),
            (&[CMP_X25_X26, MOV_X0_X1], B_NE, 0x5400_0000),
            (&[], 0xB500_0000, 0xB400_0000),
            (&[CMP_X25_X26], 0x5400_0008, 0x5400_0009),
        ] {
            let mut e = aarch64(prefix, cond);
            assert_eq!(fall_through(&mut e, LINUX_ARM), 1, "{cond:#x}");
            let code = &e.groups[0].code;
            let mut expected = [prefix, &[inverse]].concat();
            if expected.len() % 2 != 0 {
                expected.push(AARCH64_NOP);
            }
            assert_eq!(code.body, words(&expected), "{cond:#x}");
            assert_eq!(
                code.holes,
                [Hole {
                    offset: 4 * prefix.len() as u64,
                    kind: RelocKind::R_AARCH64_CONDBR19,
                    value: HoleValue::JumpTarget,
                    symbol: None,
                    addend: 0,
                    patch: PatchKind::Aarch64Branch19r,
                }]
            );
            assert_eq!(
                fall_through(&mut e, LINUX_ARM),
                0,
                "nothing left to rewrite"
            );
        }
    }

    /// `ldr x8, [x21, #-8]!; cbz x8, L; b CONTINUE; L: b JUMP_TARGET` (the calc example's
    /// `jump_if_zero`) → `ldr; cbz x8, JUMP_TARGET`: the same condition, retargeted.
    #[test]
    fn aarch64_branch_around_a_continue_jump_becomes_the_branch_itself() {
        let continue_hole = Hole {
            offset: 8,
            value: HoleValue::Continue,
            ..aarch64(&[], 0).groups[0].code.holes[0].clone()
        };
        let ldr = 0xF85F_8EA8;
        let mut e = aarch64(&[], 0);
        e.groups[0].code = Stencil {
            body: words(&[ldr, 0xB400_0048, 0x1400_0000, 0x1400_0000]),
            holes: vec![
                continue_hole.clone(),
                Hole {
                    offset: 12,
                    ..e.groups[0].code.holes[0].clone()
                },
            ],
        };
        let before = e.clone();
        assert_eq!(fall_through(&mut e, LINUX_ARM), 1);
        let code = &e.groups[0].code;
        assert_eq!(code.body, words(&[ldr, 0xB400_0008]));
        assert_eq!(
            code.holes,
            [Hole {
                offset: 4,
                kind: RelocKind::R_AARCH64_CONDBR19,
                value: HoleValue::JumpTarget,
                symbol: None,
                addend: 0,
                patch: PatchKind::Aarch64Branch19r,
            }]
        );
        // Not when the middle branch goes anywhere but the continuation, or the conditional
        // one lands anywhere but the final `b`.
        let mut e = before.clone();
        e.groups[0].code.holes[0].value = HoleValue::ErrorTarget;
        assert_eq!(fall_through(&mut e, LINUX_ARM), 0);
        let mut e = before;
        e.groups[0].code.body[4] = 0x68; // cbz x8, +12: past the end
        assert_eq!(fall_through(&mut e, LINUX_ARM), 0);
    }

    #[test]
    fn aarch64_shapes_that_must_stay() {
        let unchanged = |mut e: Extraction, target: Target, why: &str| {
            let before = e.clone();
            assert_eq!(fall_through(&mut e, target), 0, "{why}");
            assert_eq!(e, before, "{why}");
        };
        unchanged(
            aarch64(&[CMP_X25_X26], B_NE),
            Target::Aarch64AppleDarwin,
            "Mach-O has no 19-bit branch relocation",
        );
        // `b 8` at 0 lands on the `b` at 8, `cbz x0, +12` at 0 past it; `b.al` has no inverse.
        unchanged(aarch64(&[0x1400_0002], B_NE), LINUX_ARM, "b onto the jump");
        unchanged(aarch64(&[0xB400_0060], B_NE), LINUX_ARM, "cbz past it");
        unchanged(aarch64(&[CMP_X25_X26], 0x5400_000E), LINUX_ARM, "b.al");
        // `tbz` reaches only ±32 KiB.
        unchanged(aarch64(&[CMP_X25_X26], 0x3600_0000), LINUX_ARM, "tbz");
        let mut e = aarch64(&[CMP_X25_X26], B_NE);
        e.groups[0].code.body[4] = 0x81; // b.ne +16: past the end
        unchanged(e, LINUX_ARM, "b.ne beyond the continuation");
        let mut e = aarch64(&[CMP_X25_X26], B_NE);
        e.groups[0].code.holes[0].patch = PatchKind::Aarch64Trampoline;
        unchanged(e, LINUX_ARM, "a trampoline branch");
        let mut e = aarch64(&[CMP_X25_X26], B_NE);
        e.groups[0].code.holes.insert(
            0,
            Hole {
                offset: 0,
                kind: RelocKind::R_AARCH64_ADR_PREL_PG_HI21,
                value: HoleValue::Code,
                symbol: None,
                addend: 8,
                patch: PatchKind::Aarch64Page21r,
            },
        );
        unchanged(e, LINUX_ARM, "the jump's address taken");
        // A branch landing before the pair is harmless.
        let mut e = aarch64(&[CMP_X25_X26, 0x1400_0000], B_NE);
        assert_eq!(fall_through(&mut e, LINUX_ARM), 1);
    }
}
