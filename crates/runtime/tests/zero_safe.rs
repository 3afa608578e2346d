//! Hole values may be 0: `patchjit.h` declares them weak, so clang keeps every test of a value
//! against 0 (with strong declarations it assumed a symbol's address, the value, non-null and
//! folded `v == 0` to false and `v ? d / v : 0` to a bare division, a SIGFPE when 0 was patched
//! in). Checked structurally on all seven targets (the tested values still have holes) and by
//! running the code on the host.

mod support;

use std::path::Path;

use patchjit_stencils::{Extraction, HoleValue, Target};

/// `patchjit.h` itself, as client templates include it.
fn header_dir() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../builder/include");
    format!("-I{}", dir.display())
}

fn build(target: Target, names: &[&str]) -> Extraction {
    let include = header_dir();
    let objects: Vec<(&str, Vec<u8>)> = names
        .iter()
        .map(|&n| (n, support::compile(target, n, &["-fno-plt", &include])))
        .collect();
    support::extract(target, &objects)
}

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
        let extraction = build(target, &["zero_values", "zero_divide"]);
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

    use patchjit::{Emitter, Instruction, Options, StencilTable};
    use patchjit_stencils::Target;

    use crate::support;

    const TARGET: Target = if cfg!(target_arch = "x86_64") {
        Target::X86_64UnknownLinuxGnu
    } else {
        Target::Aarch64UnknownLinuxGnu
    };

    fn table() -> &'static StencilTable {
        static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let names = ["zero_shim", "zero_ret", "zero_values", "zero_divide"];
            support::leak_table(&super::build(TARGET, &names), TARGET)
        })
    }

    /// Runs one `name` instruction with these values on `*out = start`; returns `*out`.
    fn run(
        name: &str,
        (oparg, operand0, operand1, scale): (u64, u64, u64, u64),
        start: i64,
    ) -> i64 {
        let mut e = Emitter::new(table(), &[]).unwrap();
        e.set_shim(e.group("zero_shim").unwrap()).unwrap();
        e.set_terminator(e.group("zero_ret").unwrap()).unwrap();
        let i = e
            .push(Instruction {
                oparg,
                operand0,
                operand1,
                ..Instruction::new(e.group(name).unwrap())
            })
            .unwrap();
        if let Some(id) = e.custom_value("SCALE") {
            e.set_custom(i, id, scale).unwrap();
        }
        let code = e.finish(&Options::default()).unwrap();
        // SAFETY: zero_shim is `int64_t _JIT_ENTRY(int64_t *out)` with the C ABI.
        let f: extern "C" fn(*mut i64) -> i64 = unsafe { code.entry() };
        let mut out = start;
        f(&mut out)
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
