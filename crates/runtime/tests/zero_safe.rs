//! Hole values may be 0: `patchjit.h` declares them weak, so clang keeps every test of a value
//! against 0 (with strong declarations it assumed a symbol's address, the value, non-null and
//! folded `v == 0` to false and `v ? d / v : 0` to a bare division, a SIGFPE when 0 was patched
//! in). Checked structurally on all seven targets (the tested values still have holes) and by
//! running the code on the host.

mod support;

use patchjit_stencils::{Extraction, HoleValue, Target};

/// The values a group's holes (code or data, i.e. GOT slots) start from.
fn values(extraction: &Extraction, group: &str) -> Vec<HoleValue> {
    let g = extraction
        .groups
        .iter()
        .find(|g| g.name == group)
        .unwrap_or_else(|| panic!("no group {group}"));
    g.code
        .holes
        .iter()
        .chain(&g.data.holes)
        .map(|h| h.value.clone())
        .collect()
}

#[test]
fn every_value_tested_against_zero_keeps_its_hole_on_every_target() {
    for target in Target::ALL {
        let extraction = support::build(target, &["zero_values", "zero_divide"]);
        let (operand0, operand1) = if target == Target::I686PcWindowsMsvc {
            (
                vec![HoleValue::Operand0Hi, HoleValue::Operand0Lo],
                vec![HoleValue::Operand1Hi, HoleValue::Operand1Lo],
            )
        } else {
            (vec![HoleValue::Operand0], vec![HoleValue::Operand1])
        };
        let tested = values(&extraction, "zero_values");
        let expected = [vec![HoleValue::Oparg], operand0.clone(), operand1]
            .concat()
            .into_iter()
            .chain([HoleValue::Custom("SCALE".to_string())]);
        for value in expected {
            assert!(
                tested.contains(&value),
                "{target}: the test of {value} against 0 was folded away (holes: {tested:?})"
            );
        }
        let divisor = values(&extraction, "zero_divide");
        for value in &operand0 {
            assert!(
                divisor.contains(value),
                "{target}: no {value} hole in zero_divide"
            );
        }
    }
}

#[cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
))]
mod run {
    use std::sync::OnceLock;

    use patchjit::StencilTable;

    use crate::support::{self, NATIVE};

    fn table() -> &'static StencilTable {
        static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let names = ["zero_shim", "zero_ret", "zero_values", "zero_divide"];
            support::leak_table(&support::build(NATIVE, &names), NATIVE)
        })
    }

    fn run(name: &str, values: (u64, u64, u64, u64), start: i64) -> i64 {
        support::run_native(table(), name, values, start)
    }

    #[test]
    fn each_value_being_zero_is_seen() {
        for mask in 0..16u64 {
            let value = |bit: u64| {
                if mask & bit != 0 {
                    0
                } else {
                    0x1234_5678_9abc_def0
                }
            };
            let values = (value(1) & 0xffff, value(2), value(4), value(8));
            let seen = run("zero_values", values, -1);
            let operand0_null = (mask & 2) << 3;
            assert_eq!(seen as u64, mask | operand0_null, "values {values:x?}");
        }
    }

    #[test]
    fn division_by_a_zero_immediate_gives_zero() {
        assert_eq!(run("zero_divide", (0, 0, 0, 0), 1000), 0);
        assert_eq!(run("zero_divide", (0, 7, 0, 0), 1000), 142);
        assert_eq!(run("zero_divide", (0, u64::MAX, 0, 0), -1), 1);
    }
}
