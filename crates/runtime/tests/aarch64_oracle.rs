//! AArch64 bit-for-bit oracle: the same template object is (a) extracted and emitted by
//! patchjit "as if" at a chosen address and (b) linked by `ld.lld-19` at that address with every
//! `_JIT_*` symbol defined to the value the emitter used. The code must come out identical, hole
//! by hole, except where CPython's relaxations and lld's legitimately differ; there the two
//! instruction sequences are evaluated and must load the same value into the same register:
//!
//! - folded ADRP+LDR GOT pairs (`Pair33rx`): patchjit relaxes by the slot's contents to
//!   `MOVZ; NOP`, `MOVZ; MOVK`, `LDR literal; NOP`, or keeps ADRP+LDR; lld (`--no-relax`) keeps
//!   ADRP+LDR of its own GOT, whose slot order may differ;
//! - unpaired GOT ADRP / LDR (`Page21rx` / `Lo12x`): both point at a GOT slot, but the slots are
//!   in different places, so the loaded value is compared;
//! - branches to external symbols (`Aarch64Trampoline`): lld uses its own range-extension thunk,
//!   patchjit its trampoline; when the helper is in range both are a direct `BL` and must match.
//!
//! Mach-O and COFF objects have their own oracle (`macho_coff_oracle.rs`).

#![cfg(target_os = "linux")]

mod support;

use patchjit::{
    Destination, EmitError, Emitter, Instruction, PatchKind, PatchProblem, StencilGroup,
};
use patchjit_stencils::Target;
use support::aarch64::{adrp_page, branch_target, evaluate, word, NOP};
use support::{values, Linked, Values};

const TARGET: Target = Target::Aarch64UnknownLinuxGnu;
const CODE: u64 = 0x4000_0000;
const DATA_OFFSET: u64 = 0x10000;

/// Links `object` with lld: code at CODE, data sections at DATA, the GOT where patchjit's GOT
/// starts, every `_JIT_*` symbol defined.
fn link(name: &str, object: &[u8], group: &StencilGroup, got_offset: usize, v: Values) -> Linked {
    let data = CODE + DATA_OFFSET;
    let mut symbols = vec![
        ("_JIT_CONTINUE", CODE + group.code.len as u64),
        ("_JIT_JUMP_TARGET", CODE),
        ("_JIT_ERROR_TARGET", CODE),
    ];
    symbols.extend(v.symbols());
    support::link(name, object, CODE, data, data + got_offset as u64, &symbols)
}

/// What a comparison found, so tests can assert that each relaxation outcome was exercised.
#[derive(Default, Debug)]
struct Seen {
    exact_holes: Vec<PatchKind>,
    pair_forms: Vec<&'static str>,
    /// Unpaired GOT loads (`Page21rx` + `Lo12x`) compared by slot contents.
    got_loads: usize,
    trampolines: Vec<&'static str>,
}

fn compare(name: &str, flags: &[&str], v: Values, seen: &mut Seen) {
    let support::Compiled {
        object,
        table,
        got_offset,
    } = support::compile_with_ret(TARGET, name, flags);
    let group = table.groups.iter().find(|g| g.name == name).unwrap();
    let (ours, _) = support::emit_alone(table, name, v, CODE, Some(DATA_OFFSET as usize));
    let lld = link(name, &object, group, got_offset, v);
    let our_read = |a: u64| {
        let at = (a - CODE) as usize;
        u64::from_le_bytes(ours[at..at + 8].try_into().unwrap())
    };
    let len = group.code.len as usize;
    let mut compared = vec![false; len];
    let mut mark = |at: usize, n: usize| compared[at..at + n].iter_mut().for_each(|c| *c = true);
    for hole in group.code.holes {
        let at = hole.offset as usize;
        let pc = CODE + at as u64;
        let context = format!("{name} {:?} at {at:#x}", hole.patch);
        match hole.patch {
            PatchKind::Aarch64Pair33rx => {
                let mine = evaluate(word(&ours, at), word(&ours, at + 4), pc, &our_read);
                let theirs = evaluate(word(&lld.text, at), word(&lld.text, at + 4), pc, &|a| {
                    lld.read64(a)
                });
                assert_eq!(mine, theirs, "{context}: loaded (register, value) differ");
                let i = word(&ours, at);
                seen.pair_forms.push(match (i >> 24, word(&ours, at + 4)) {
                    (0xD2, NOP) => "movz",
                    (0xD2, _) => "movz+movk",
                    (0x58, _) => "ldr literal",
                    _ => "adrp+ldr",
                });
                mark(at, 8);
            }
            PatchKind::Aarch64Page21rx => {
                // A lone GOT ADRP: both must address the page of a slot holding the same value;
                // checked together with its LDR below.
                mark(at, 4);
            }
            PatchKind::Aarch64Lo12x => {
                let adrp_at = group
                    .code
                    .holes
                    .iter()
                    .find(|h| h.patch == PatchKind::Aarch64Page21rx && h.offset < hole.offset)
                    .expect("an LDR of a GOT slot follows its ADRP")
                    .offset as usize;
                let slot = |bytes: &[u8]| {
                    adrp_page(word(bytes, adrp_at), CODE + adrp_at as u64)
                        + (((word(bytes, at) >> 10) & 0xFFF) as u64) * 8
                };
                assert_eq!(
                    our_read(slot(&ours)),
                    lld.read64(slot(&lld.text)),
                    "{context}: GOT slot contents differ"
                );
                seen.got_loads += 1;
                mark(at, 4);
            }
            PatchKind::Aarch64Trampoline => {
                let mine = word(&ours, at);
                if v.helper.abs_diff(pc) < 1 << 27 {
                    assert_eq!(mine, word(&lld.text, at), "{context}: direct BL");
                    seen.trampolines.push("direct");
                } else {
                    let slot = (branch_target(mine, pc) - CODE) as usize;
                    assert_eq!(word(&ours, slot), 0x5800_0048, "{context}: LDR x8, #8");
                    assert_eq!(word(&ours, slot + 4), 0xD61F_0100, "{context}: BR x8");
                    assert_eq!(
                        our_read(CODE + slot as u64 + 8),
                        v.helper,
                        "{context}: trampoline target"
                    );
                    seen.trampolines.push("trampoline");
                }
                mark(at, 4);
            }
            kind => {
                let n = usize::from(kind.width());
                assert_eq!(
                    &ours[at..at + n],
                    &lld.text[at..at + n],
                    "{context}: patched bytes differ"
                );
                seen.exact_holes.push(kind);
                mark(at, n);
            }
        }
    }
    for at in (0..len).step_by(4) {
        if compared[at] {
            continue;
        }
        let mine = word(&ours, at);
        if at + 4 > lld.text.len() {
            assert_eq!(
                mine, NOP,
                "{name}: code past the linked text at {at:#x} must be NOP padding"
            );
        } else if at + 4 == len && mine == NOP && word(&lld.text, at) & 0xFC00_0000 == 0x1400_0000 {
            // CPython's post-processing replaced the trailing `B _JIT_CONTINUE` by NOP padding.
        } else {
            assert_eq!(
                mine,
                word(&lld.text, at),
                "{name}: unpatched word at {at:#x} differs"
            );
        }
    }
    // Data: the copied sections (before the GOT) must match lld's output.
    let data = (CODE + DATA_OFFSET) as usize - CODE as usize;
    let data_len = got_offset.min(group.data.len as usize);
    for at in 0..data_len {
        let address = CODE + DATA_OFFSET + at as u64;
        let theirs = (lld.read64(address & !7) >> ((address & 7) * 8)) as u8;
        assert_eq!(ours[data + at], theirs, "{name}: data byte {at:#x} differs");
    }
}

#[test]
fn got_pairs_relax_like_cpython_and_load_what_lld_loads() {
    let mut seen = Seen::default();
    // Operand sizes select MOVZ; MOVZ+MOVK; and (slot within 512 KiB) LDR literal.
    for operand0 in [0x42, 0xDEAD_BEEF, 0x1234_5678_9ABC] {
        compare(
            "load",
            &["-fno-plt"],
            values(operand0, CODE + 0x800),
            &mut seen,
        );
    }
    assert_eq!(seen.pair_forms, ["movz", "movz+movk", "ldr literal"]);
}

#[test]
fn got_pair_keeps_adrp_ldr_when_the_slot_is_far() {
    // A 2 MiB data section pushes the GOT beyond LDR-literal reach.
    let mut seen = Seen::default();
    compare(
        "far_data",
        &["-fno-plt"],
        values(0x1234_5678_9ABC, CODE + 0x800),
        &mut seen,
    );
    assert!(seen.pair_forms.contains(&"adrp+ldr"), "{seen:?}");
}

#[test]
fn unpaired_got_loads_and_local_data_pages() {
    let mut seen = Seen::default();
    compare(
        "call_helper",
        &["-fno-plt"],
        values(1, CODE + 0x10_0000),
        &mut seen,
    );
    compare("lookup", &[], values(1, CODE), &mut seen);
    // `ldr q` from `.rodata.cst16`: a 128-bit low-12 offset, scaled by 16.
    compare("vector_add", &[], values(1, CODE), &mut seen);
    assert!(
        seen.exact_holes.contains(&PatchKind::Aarch64Page21r),
        "{seen:?}"
    );
    assert!(
        seen.exact_holes.contains(&PatchKind::Aarch64Lo12),
        "{seen:?}"
    );
    assert_eq!(seen.got_loads, 1, "{seen:?}");
}

#[test]
fn movw_sequences_large_code_model() {
    let mut seen = Seen::default();
    compare(
        "load",
        &["-fno-pic", "-mcmodel=large"],
        values(0x1122_3344_5566_7788, CODE),
        &mut seen,
    );
    compare(
        "lookup",
        &["-fno-pic", "-mcmodel=large"],
        values(0, CODE),
        &mut seen,
    );
    for k in [
        PatchKind::Aarch64Mov16a,
        PatchKind::Aarch64Mov16b,
        PatchKind::Aarch64Mov16c,
        PatchKind::Aarch64Mov16d,
    ] {
        assert!(
            seen.exact_holes.contains(&k),
            "{k:?} not exercised: {seen:?}"
        );
    }
}

#[test]
fn branches_to_external_symbols_direct_or_via_trampoline() {
    let mut seen = Seen::default();
    // Without -fno-plt the helper call is `BL helper` (R_AARCH64_CALL26).
    compare("call_helper", &[], values(0, CODE + 0x100_0000), &mut seen);
    compare("call_helper", &[], values(0, CODE + (1 << 32)), &mut seen);
    assert_eq!(seen.trampolines, ["direct", "trampoline"]);
}

#[test]
fn conditional_and_error_branches() {
    let mut seen = Seen::default();
    for name in [
        "dec_jump_nonzero",
        "error_if_negative",
        "jump",
        "add",
        "mul_oparg",
    ] {
        compare(name, &[], values(7, CODE), &mut seen);
    }
    assert!(
        seen.exact_holes.contains(&PatchKind::Aarch64Branch26r),
        "{seen:?}"
    );
}

/// Narrow values are `movz` (`+ movk`) instructions with checked relocations
/// (`R_AARCH64_MOVW_UABS_G0`/`_G1`): every extreme of each type is patched as lld links it.
#[test]
fn narrow_values_match_lld() {
    let mut seen = Seen::default();
    for (name, _, _, extremes) in support::NARROW_TEMPLATES {
        for value in extremes {
            compare(name, &[], Values::narrow(value as u64), &mut seen);
        }
    }
    for kind in [
        PatchKind::Aarch64Mov16aChecked,
        PatchKind::Aarch64Mov16bChecked,
    ] {
        assert!(seen.exact_holes.contains(&kind), "{seen:?}");
    }
    assert!(seen.pair_forms.is_empty(), "no GOT loads: {seen:?}");
}

/// `R_AARCH64_CONDBR19` (`b.cond`, `cbz`, `cbnz`; the hole hot-path fallthrough leaves): patched
/// as lld links it out to both ends of its ±1 MiB reach, and refused one word beyond; both
/// readers take it alike.
#[test]
fn conditional_branches_match_lld_to_the_ends_of_their_reach() {
    let source = "\t.text\n\t.globl _JIT_ENTRY\n_JIT_ENTRY:\n\tb.ne helper\n\tcbz x0, helper\n\
                  \tcbnz w1, helper\n\tb.ge _JIT_JUMP_TARGET\n\tb _JIT_CONTINUE\n";
    let object = support::assemble(TARGET, "condbr19", source);
    let ret = support::compile(TARGET, "ret", &[]);
    let extraction = support::extract(TARGET, &[("condbr19", object.clone()), ("ret", ret)]);
    let holes = &extraction.groups[0].code.holes;
    assert_eq!(holes.len(), 4, "{holes:?}");
    assert!(
        holes.iter().all(
            |h| h.kind == patchjit_stencils::RelocKind::R_AARCH64_CONDBR19
                && h.patch == PatchKind::Aarch64Branch19r
        ),
        "{holes:?}"
    );
    // The llvm-readobj reader takes the relocation the same way.
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("condbr19-{}.o", std::process::id()));
    std::fs::write(&path, &object).unwrap();
    let json = patchjit_test_support::readobj_json(&path);
    std::fs::remove_file(&path).unwrap();
    let sections = patchjit_stencils::read_readobj_json("condbr19.o", &json, TARGET).unwrap();
    let options = patchjit_stencils::Options::default();
    let via_json = patchjit_stencils::extract("condbr19.o", &[sections], &options).unwrap();
    assert_eq!(via_json.groups[0].code, extraction.groups[0].code);
    let table = support::leak_table(&extraction, TARGET);
    let group = &table.groups[0];
    // Every `helper` branch (at 0, 4 and 8) reaches from 1 MiB back of the last to 1 MiB - 4
    // on from the first.
    let (lowest, highest) = (CODE + 8 - (1 << 20), CODE + (1 << 20) - 4);
    for helper in [lowest, highest, CODE + 0x40, CODE - 0x1000] {
        let v = values(0, helper);
        let (ours, _) = support::emit_alone(table, "condbr19", v, CODE, Some(DATA_OFFSET as usize));
        let lld = link("condbr19", &object, group, 0, v);
        assert_eq!(ours[..16], lld.text[..16], "helper at {helper:#x}");
    }
    for (helper, distance) in [(lowest - 4, -(1 << 20) - 4), (highest + 4, 1 << 20)] {
        let mut e = Emitter::new(table, &[("helper", helper as usize)]).unwrap();
        e.push(Instruction {
            jump_target: Some(Destination::Instruction(0)),
            ..Instruction::new(0)
        })
        .unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let layout = e.layout().unwrap();
        let mut image = vec![0u8; DATA_OFFSET as usize + layout.data_len() as usize];
        let error = e
            .emit_into(&layout, &mut image, CODE, DATA_OFFSET as usize)
            .unwrap_err();
        let EmitError::Patch { error, .. } = error else {
            panic!("{error}");
        };
        assert_eq!(error.kind, PatchKind::Aarch64Branch19r);
        assert_eq!(
            error.problem,
            PatchProblem::OutOfRange {
                bits: 21,
                signed: true,
                distance
            },
            "helper at {helper:#x}"
        );
    }
}
