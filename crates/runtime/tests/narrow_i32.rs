//! Folding narrow values (`PATCHJIT_OPERAND0_I32`, `PATCHJIT_OPERAND1_I32`: 64-bit values in
//! `int32_t`'s range, docs/templates.md "Narrow values"): on x86-64 Linux clang folds them into
//! the instruction using them (an `R_X86_64_32S` imm32 the CPU sign-extends); every target
//! extracts them and refuses values outside the range; on the host the code computes with
//! every value of the range, negative ones included.

#![cfg(target_os = "linux")]

mod support;

use patchjit::{EmitError, Emitter, Instruction, PatchKind};
use patchjit_stencils::{HoleValue, Target};

const TEMPLATES: [&str; 2] = ["narrow_operand0_i32", "narrow_operand1_i32"];

#[test]
fn x86_64_folds_them_and_every_target_extracts_them() {
    for target in Target::ALL {
        let extraction = support::build(target, &TEMPLATES);
        for (group, value) in extraction
            .groups
            .iter()
            .zip([HoleValue::Operand0I32, HoleValue::Operand1I32])
        {
            let holes: Vec<_> = group
                .code
                .holes
                .iter()
                .chain(&group.data.holes)
                .filter(|h| h.value == value)
                .collect();
            assert!(
                !holes.is_empty(),
                "{target} {}: no {value} hole",
                group.name
            );
            if target == Target::X86_64UnknownLinuxGnu {
                // One instruction: `addq $imm32, (%r12)` / `cmpq $imm32, ...`, no movabs.
                assert!(
                    holes.iter().all(|h| h.patch == PatchKind::Abs32s),
                    "{target} {}: {holes:?}",
                    group.name
                );
                assert!(
                    !group
                        .code
                        .body
                        .windows(2)
                        .any(|w| w[0] & 0xf8 == 0x48 && w[1] & 0xf8 == 0xb8),
                    "{target} {}: a movabs is left",
                    group.name
                );
            }
        }
        // Outside int32_t's range: refused, naming the hole, on every target.
        let mut names = TEMPLATES.to_vec();
        names.push("ret");
        let table = support::leak_table(&support::build(target, &names), target);
        for name in TEMPLATES {
            for given in [1u64 << 31, (-(1i64 << 31) - 1) as u64, u64::MAX >> 1] {
                let mut e = Emitter::new(table, &[]).unwrap();
                e.push(Instruction {
                    operand0: given,
                    operand1: given,
                    ..Instruction::new(e.group(name).unwrap())
                })
                .unwrap();
                e.set_terminator(e.group("ret").unwrap()).unwrap();
                let layout = e.layout().unwrap();
                let mut image = vec![0u8; 0x10000];
                let error = e
                    .emit_into(&layout, &mut image, 0x1000_0000, 0x8000)
                    .expect_err("the value is outside int32_t's range");
                assert!(
                    matches!(error, EmitError::ValueOutOfRange { .. })
                        && error.to_string().contains("int64_t in int32_t's range"),
                    "{target} {name} {given:#x}: {error}"
                );
            }
        }
    }
}

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
#[test]
fn every_value_of_the_range_computes_on_the_host() {
    let mut names = TEMPLATES.to_vec();
    names.extend(["zero_shim", "zero_ret"]);
    let table = support::leak_table(&support::build(support::NATIVE, &names), support::NATIVE);
    let mut values = vec![
        0i64,
        1,
        -1,
        2,
        -2,
        0x100,
        -0x100,
        i32::MAX as i64,
        i32::MIN as i64,
    ];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.push(x as i32 as i64);
    }
    for v in values {
        for input in [0i64, 5, -5, i64::MIN, i64::MAX, v, v - 1, v + 1] {
            let fields = |o0: i64, o1: i64| (0, o0 as u64, o1 as u64, 0);
            assert_eq!(
                support::run_native(table, "narrow_operand0_i32", fields(v, 0), input),
                input.wrapping_add(v),
                "{input} + {v}"
            );
            assert_eq!(
                support::run_native(table, "narrow_operand1_i32", fields(0, v), input),
                (input < v) as i64,
                "{input} < {v}"
            );
        }
    }
}
