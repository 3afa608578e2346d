//! Hot-path fallthrough: a stencil whose code ends in `jcc CONTINUE; jmp X` (the usual shape of
//! `if (cond) JUMP(); NEXT();` once clang has laid it out) becomes `j!cc X`, falling through to
//! the next stencil — one instruction and one taken jump fewer on the path that continues.
//! CPython 3.15 does the same on the assembly; here it is done on the extracted x86 code, where
//! the two jumps and their holes are unambiguous.
//!
//! The rewrite is refused (the stencil stays as it was) when anything else might jump to the
//! removed `jmp`: every byte offset is tried as the start of a direct branch (`jmp`/`jcc`/`call`
//! rel8 or rel32, `loop`/`jrcxz`) whose displacement is not a hole, and any that lands on the
//! `jmp` or between it and the end keeps the stencil intact. Some of those are not instructions at all; being
//! wrong that way only costs the optimization.

use patchjit_vocab::{Arch, Target};

use crate::hole::{Extraction, HoleValue, Stencil};

/// `jmp rel32` and `jcc rel32` sizes: `E9 d32` and `0F 8c d32`.
const JMP: usize = 5;
const JCC: usize = 6;

/// Rewrites every group of `extraction` (built for `target`) whose code ends in a conditional
/// jump to the continuation followed by a jump elsewhere; returns how many were rewritten.
/// Only x86-64 and i686 code is rewritten (AArch64's `b.cond` reaches ±1 MiB, less than the
/// `b` it would replace).
pub fn fall_through(extraction: &mut Extraction, target: Target) -> usize {
    if !matches!(target.arch(), Arch::X86_64 | Arch::I686) {
        return 0;
    }
    extraction
        .groups
        .iter_mut()
        .map(|g| rewrite(&mut g.code))
        .filter(|&rewritten| rewritten)
        .count()
}

fn rewrite(code: &mut Stencil) -> bool {
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
    let relative = |h: &crate::Hole| {
        h.patch.width() == 4 && h.kind.patch_kind() == h.patch && !h.kind.is_got()
    };
    if !(relative(c) && relative(t))
        || c.value != HoleValue::Continue
        || c.symbol.is_some()
        || c.addend != -4
        || t.addend != -4
        || reaches(code, len - JMP, jcc)
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
fn reaches(code: &Stencil, from: usize, skip: usize) -> bool {
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
    (0..body.len()).any(|i| {
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
    fn other_shapes_and_aarch64_are_left_alone() {
        let mut e = extraction(&[]);
        e.groups[0].code.holes[0].value = HoleValue::ErrorTarget;
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 0);
        let mut e = extraction(&[]);
        assert_eq!(fall_through(&mut e, Target::Aarch64UnknownLinuxGnu), 0);
        let mut e = extraction(&[]);
        e.groups[0].code.body.push(0x90);
        assert_eq!(fall_through(&mut e, Target::X86_64UnknownLinuxGnu), 0);
    }
}
