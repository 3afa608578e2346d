//! Narrow values (`PATCHJIT_OPARG_U16`, `PATCHJIT_OPERAND0_S32`, ...; docs/templates.md,
//! "Narrow values"): what each target's extraction makes of them, that the emitter refuses a
//! value outside the declared type (on every target, with the error naming instruction, hole
//! and value), that the tests of a narrow value against 0 survive, and, on the host, that the
//! emitted code computes with every value of the type. The bytes are checked against the
//! linkers in the oracles (`x86_64_oracle.rs`, `aarch64_oracle.rs`, `macho_coff_oracle.rs`).

#![cfg(target_os = "linux")]

mod support;

use patchjit::{EmitError, Emitter, Instruction, PatchKind, Section};
use patchjit_stencils::{Extraction, Format, RelocKind, StencilGroup, Target};
use support::{Values, NARROW_TEMPLATES};

fn value_name(value: patchjit::HoleValue) -> &'static str {
    value.builtin_name().expect("narrow values are built in")
}

fn group<'e>(extraction: &'e Extraction, name: &str) -> &'e StencilGroup {
    extraction
        .groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

fn build_all(target: Target) -> Extraction {
    let mut names: Vec<&str> = NARROW_TEMPLATES.iter().map(|(n, _, _, _)| *n).collect();
    names.extend(["narrow_zero", "narrow_sign", "ret"]);
    support::build(target, &names)
}

/// On x86-64 ELF a narrow value is a 32-bit immediate (`R_X86_64_32`, `movl $imm32`) in the
/// code, on AArch64 ELF a checked `movz` (`+ movk`); every other target loads it as an ordinary
/// 64-bit value from a GOT slot (`Abs64` data hole) with the target's usual GOT reference.
#[test]
fn each_target_gives_each_narrow_value_its_hole() {
    for target in Target::ALL {
        let extraction = build_all(target);
        for (name, value, _, _) in NARROW_TEMPLATES {
            let g = group(&extraction, name);
            let named = |h: &&patchjit_stencils::Hole| h.value.name() == value_name(value);
            let code: Vec<_> = g.code.holes.iter().filter(named).collect();
            let data: Vec<_> = g.data.holes.iter().filter(named).collect();
            let context = format!("{target} {name}: code {:?} data {:?}", g.code, g.data);
            if target == Target::X86_64UnknownLinuxGnu {
                assert!(!code.is_empty(), "{context}");
                assert!(g.data.holes.is_empty(), "{context}");
                for hole in code {
                    assert_eq!(hole.kind, RelocKind::R_X86_64_32, "{context}");
                    assert_eq!(hole.patch, PatchKind::Abs32, "{context}");
                    // `movl $imm32, %e..`: the 10-byte `movabs` is gone.
                    let opcode = g.code.body[hole.offset as usize - 1];
                    assert_eq!(opcode & 0xF8, 0xB8, "{context}");
                }
            } else if target == Target::Aarch64UnknownLinuxGnu {
                // `movz` (16 bits) or `movz, lsl 16; movk` (32 bits): checked, no GOT slot.
                let kinds: Vec<_> = code.iter().map(|h| (h.kind, h.patch)).collect();
                let expected: &[_] = match value.narrow().unwrap().bits() {
                    16 => &[(
                        RelocKind::R_AARCH64_MOVW_UABS_G0,
                        PatchKind::Aarch64Mov16aChecked,
                    )],
                    _ => &[
                        (
                            RelocKind::R_AARCH64_MOVW_UABS_G1,
                            PatchKind::Aarch64Mov16bChecked,
                        ),
                        (
                            RelocKind::R_AARCH64_MOVW_UABS_G0_NC,
                            PatchKind::Aarch64Mov16a,
                        ),
                    ],
                };
                assert_eq!(kinds, expected, "{context}");
                assert!(g.data.holes.is_empty(), "{context}");
            } else {
                assert!(code.is_empty(), "{context}");
                assert_eq!(data.len(), 1, "{context}");
                assert_eq!(data[0].patch, PatchKind::Abs64, "{context}");
                let reference = match target {
                    Target::X86_64AppleDarwin | Target::X86_64PcWindowsMsvc => {
                        PatchKind::X86_64Rel32x
                    }
                    Target::I686PcWindowsMsvc => PatchKind::Abs32,
                    _ => PatchKind::Aarch64Pair33rx,
                };
                assert!(
                    g.code.holes.iter().any(|h| h.patch == reference),
                    "{context}"
                );
            }
        }
    }
}

/// Every narrow value tested against 0 (`narrow_zero`: the header declares them weak, like the
/// wide values; see `zero_safe.rs`) or for its sign (`narrow_sign`) keeps its hole on every
/// target: clang folded neither test away.
#[test]
fn tests_of_narrow_values_keep_their_holes() {
    type V = patchjit::HoleValue;
    let every = NARROW_TEMPLATES.map(|(_, value, _, _)| value);
    for target in Target::ALL {
        let extraction = build_all(target);
        for (name, tested) in [
            ("narrow_zero", &every[..]),
            (
                "narrow_sign",
                &[V::Operand0S32, V::Operand1S16, V::OpargU32],
            ),
        ] {
            let g = group(&extraction, name);
            for &value in tested {
                assert!(
                    g.code
                        .holes
                        .iter()
                        .chain(&g.data.holes)
                        .any(|h| h.value.name() == value_name(value)),
                    "{target} {name}: the test of {} was folded away",
                    value_name(value)
                );
            }
        }
    }
}

/// A value just outside each type, on each side that has one.
fn outside(value: i64) -> Vec<u64> {
    match value {
        0xFFFF => vec![0x1_0000, u64::MAX],
        0xFFFF_FFFF => vec![1 << 32, u64::MAX],
        0x7FFF => vec![0x8000, (-0x8001i64) as u64],
        _ => vec![1 << 31, (i32::MIN as i64 - 1) as u64],
    }
}

/// Emits one `name` instruction with every field `given` (as if at 0x1000_0000); the error.
fn refusal(table: &'static patchjit::StencilTable, name: &str, given: u64) -> EmitError {
    let mut e = Emitter::new(table, &[]).unwrap();
    e.push(Instruction {
        oparg: given,
        operand0: given,
        operand1: given,
        ..Instruction::new(e.group(name).unwrap())
    })
    .unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let layout = e.layout().unwrap();
    let mut image = vec![0u8; 0x10000];
    e.emit_into(&layout, &mut image, 0x1000_0000, 0x8000)
        .expect_err("the value is outside the hole's type")
}

/// The emitter refuses a value its hole's declared type cannot hold, on every target, before
/// patching anything: the error names the instruction, the hole and the value.
#[test]
fn values_outside_the_declared_type_are_refused_on_every_target() {
    let tables =
        Target::ALL.map(|target| (target, support::leak_table(&build_all(target), target)));
    for (target, table) in tables {
        for (name, value, _, extremes) in NARROW_TEMPLATES {
            for given in outside(*extremes.iter().max().unwrap()) {
                let error = refusal(table, name, given);
                let EmitError::ValueOutOfRange {
                    site,
                    section,
                    value: refused,
                    declared,
                    given: shown,
                    ..
                } = &error
                else {
                    panic!("{target} {name}: {given:#x}: {error:?}");
                };
                assert_eq!(
                    (site.instruction, *refused, *shown),
                    (Some(0), value, given)
                );
                assert_eq!(Some(*declared), value.narrow());
                // In the code on ELF, in the value's GOT slot elsewhere.
                let expected_section = if target.format() == Format::Elf {
                    Section::Code
                } else {
                    Section::Data
                };
                assert_eq!(*section, expected_section, "{target} {name}");
            }
        }
    }
    let table_of = |target| tables.iter().find(|(t, _)| *t == target).unwrap().1;
    let (x86, arm, mac) = (
        table_of(Target::X86_64UnknownLinuxGnu),
        table_of(Target::Aarch64UnknownLinuxGnu),
        table_of(Target::X86_64AppleDarwin),
    );
    for (table, name, given, text) in [
        (
            x86,
            "narrow_operand0_s32",
            1 << 31,
            "instruction 0 (narrow_operand0_s32), Code stencil, hole at 0x1 (OPERAND0_S32, \
             patch_32): value 2147483648 (0x80000000) does not fit int32_t [-2147483648, \
             2147483647]",
        ),
        (
            x86,
            "narrow_oparg_u16",
            0x1_0000,
            "instruction 0 (narrow_oparg_u16), Code stencil, hole at 0x1 (OPARG_U16, patch_32): \
             value 65536 (0x10000) does not fit uint16_t [0, 65535]",
        ),
        (
            arm,
            "narrow_operand1_s16",
            -0x8001i64 as u64,
            "instruction 0 (narrow_operand1_s16), Code stencil, hole at 0x0 (OPERAND1_S16, \
             patch_aarch64_16a_checked): value -32769 (0xffffffffffff7fff) does not fit int16_t \
             [-32768, 32767]",
        ),
        (
            mac,
            "narrow_operand1_s16",
            -0x8001i64 as u64,
            "instruction 0 (narrow_operand1_s16), Data stencil, hole at 0x0 (OPERAND1_S16, \
             patch_64): value -32769 (0xffffffffffff7fff) does not fit int16_t [-32768, 32767]",
        ),
    ] {
        assert_eq!(refusal(table, name, given).to_string(), text);
    }
}

/// `R_X86_64_32S` (a sign-extended imm32: clang's form for a narrow symbol used at full width,
/// which patchjit.h's macros never do) holds exactly the patterns below 2^31: the emitter writes
/// what `ld.lld` writes, and refuses what `ld.lld` refuses.
#[test]
fn x86_64_imm32s_matches_lld_and_refuses_what_it_cannot_hold() {
    const CODE: u64 = 0x1000_0000;
    let target = Target::X86_64UnknownLinuxGnu;
    let source = "\t.text\n\t.globl _JIT_ENTRY\n_JIT_ENTRY:\n\
                  \taddq $_JIT_OPERAND0_S32, (%r12)\n\tmovq _JIT_OPERAND1_S16(,%rax,8), %rax\n\
                  \tjmp _JIT_CONTINUE\n";
    let object = support::assemble(target, "imm32s", source);
    let extraction = support::extract(
        target,
        &[
            ("imm32s", object.clone()),
            ("ret", support::compile(target, "ret", &[])),
        ],
    );
    let holes = &group(&extraction, "imm32s").code.holes;
    assert!(
        holes
            .iter()
            .all(|h| h.kind == RelocKind::R_X86_64_32S && h.patch == PatchKind::Abs32s),
        "{holes:?}"
    );
    let table = support::leak_table(&extraction, target);
    let len = (holes.last().unwrap().offset + 4) as usize;
    let narrow = |operand0: i64, operand1: i64| Values {
        operand0: operand0 as u64,
        operand1: operand1 as u64,
        ..Values::narrow(0)
    };
    for (operand0, operand1) in [(0, 0), (1, -1), (i32::MAX as i64, i16::MIN as i64)] {
        let v = narrow(operand0, operand1);
        let (ours, _) = support::emit_alone(table, "imm32s", v, CODE, Some(0x1000));
        let mut symbols = vec![("_JIT_CONTINUE", CODE + 0x100)];
        symbols.extend(v.symbols());
        let lld = support::link(
            "imm32s",
            &object,
            CODE,
            CODE + 0x1000,
            CODE + 0x2000,
            &symbols,
        );
        assert_eq!(ours[..len], lld.text[..len], "{v:?}");
    }
    // A negative int32_t's pattern (0xFFFFFFFF for -1) is beyond a sign-extended field.
    let mut e = Emitter::new(table, &[]).unwrap();
    e.push(Instruction {
        operand0: -1i64 as u64,
        ..Instruction::new(e.group("imm32s").unwrap())
    })
    .unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let layout = e.layout().unwrap();
    let mut image = vec![0u8; 0x2000];
    let error = e.emit_into(&layout, &mut image, CODE, 0x1000).unwrap_err();
    assert_eq!(
        error.to_string(),
        "instruction 0 (imm32s), Code stencil, hole at 0x4: cannot apply Abs32s at offset 0x4 \
         with value 0xffffffff: 0xffffffff does not fit in a signed 32-bit field"
    );
}

/// The emitted code computes with every value of each type, negative ones included.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod run {
    use std::sync::OnceLock;

    use patchjit::StencilTable;

    use super::{build_all, support, NARROW_TEMPLATES};
    use support::NATIVE;

    fn table() -> &'static StencilTable {
        static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut extraction = build_all(NATIVE);
            let entry = support::build(NATIVE, &["zero_shim", "zero_ret"]);
            extraction.groups.extend(entry.groups);
            support::leak_table(&extraction, NATIVE)
        })
    }

    /// Runs one `name` instruction with these fields on each of `inputs` (`*out` before),
    /// returning `*out` after each.
    fn run(name: &str, (oparg, operand0, operand1): (u64, u64, u64), inputs: &[i64]) -> Vec<i64> {
        let fields = (oparg, operand0, operand1, 0);
        inputs
            .iter()
            .map(|&input| support::run_native(table(), name, fields, input))
            .collect()
    }

    /// Each type's extremes, its neighbourhood of 0, and a spread of values between.
    fn values_of(extremes: [i64; 4]) -> Vec<i64> {
        let (min, max) = (
            *extremes.iter().min().unwrap(),
            *extremes.iter().max().unwrap(),
        );
        let span = (max - min) as u64;
        let mut values: Vec<i64> = extremes.to_vec();
        values.extend([min + 1, max - 1, 1, 2]);
        if min < 0 {
            values.extend([-2, -0x100, min / 2]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..40 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(min + (x % (span + 1)) as i64);
        }
        values
    }

    #[test]
    fn every_value_of_each_type_computes() {
        // narrow_operand1_s16 loads `table[s16]` through a pointer to the middle of `table`.
        let table: Vec<i64> = (0..1 << 16).map(|i| i * 7 - 5).collect();
        let middle = table[1 << 15..].as_ptr() as i64;
        for (name, _, _, extremes) in NARROW_TEMPLATES {
            for v in values_of(extremes) {
                let inputs: Vec<i64> = if name == "narrow_operand1_s16" {
                    vec![middle]
                } else {
                    vec![
                        0,
                        1,
                        -1,
                        1000,
                        i64::MIN,
                        i64::MAX,
                        v - 1,
                        v,
                        v.wrapping_add(1),
                    ]
                };
                let expected: Vec<i64> = inputs
                    .iter()
                    .map(|&x| match name {
                        "narrow_oparg_u16" if v == 0 => -1,
                        "narrow_oparg_u16" => i64::from(x as i32 / v as i32),
                        "narrow_oparg_u32" => x.wrapping_add(v),
                        "narrow_operand0_s32" => x.wrapping_add(v),
                        "narrow_operand0_u32" => (x > v) as i64,
                        "narrow_operand1_s16" => table[((1 << 15) + v) as usize],
                        "narrow_operand1_s32" => (x < v) as i64,
                        other => unreachable!("{other}"),
                    })
                    .collect();
                assert_eq!(
                    run(name, (v as u64, v as u64, v as u64), &inputs),
                    expected,
                    "{name} with {v} on {inputs:?}"
                );
            }
        }
    }

    #[test]
    fn each_narrow_values_sign_is_seen() {
        for (oparg, operand0, operand1, expected) in [
            (0, 0, 0, 0),
            (0x7FFF_FFFF, i32::MAX as i64, i16::MAX as i64, 0),
            (0x8000_0000, -1, 0, 0b101),
            (0, i32::MIN as i64, -1, 0b011),
            (0xFFFF_FFFF, -1, i16::MIN as i64, 0b111),
        ] {
            let fields = (oparg, operand0 as u64, operand1 as u64);
            assert_eq!(run("narrow_sign", fields, &[0]), [expected], "{fields:x?}");
        }
    }

    #[test]
    fn each_narrow_value_being_zero_is_seen() {
        for mask in 0..8u64 {
            let field = |bit: u64| if mask & bit != 0 { 0 } else { 0x1234 };
            let fields = (field(1), field(2), field(4));
            // Bits 0-1: oparg (U16, U32); 2-3: operand0 (S32, U32); 4-5: operand1 (S16, S32).
            let expected = ((mask & 1) * 0b11) | ((mask & 2) * 0b110) | ((mask & 4) * 0b1100);
            assert_eq!(
                run("narrow_zero", fields, &[-1]),
                [expected as i64],
                "{fields:x?}"
            );
        }
    }
}
