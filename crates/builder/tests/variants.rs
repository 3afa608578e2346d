//! Build-time variants: one template compiled once for all its variants gives, on every target
//! (ELF and COFF function sections, Mach-O atoms), exactly the stencils that compiling each
//! variant on its own gives; the index array finds each; a no-op rebuild does no work.

mod support;

use patchjit_build::{find_clang, Builder, Target};
use support::scratch;

const TEMPLATE: &str = r#"/* patchjit-variants: D=0..=2 S=0,2 */
#include <stdint.h>
#define PATCHJIT_PARAMS uint64_t r0, uint64_t r1, uint64_t r2
#define PATCHJIT_ARGS r0, r1, r2
#define PATCHJIT_RETURN uint64_t
#include "patchjit.h"
#define REG_(n) r##n
#define REG(n) REG_(n)
PATCHJIT_STENCIL {
    if (REG(S) == 0) {
        PATCHJIT_JUMP();
    }
    REG(D) = REG(D) * PATCHJIT_OPERAND0 + REG(S);
    PATCHJIT_CONTINUE();
}
"#;

/// The bytes of x86's multi-byte NOPs (`66 2e 0f 1f 84 00 00 00 00 00` and shorter).
const X86_NOP_BYTES: [u8; 9] = [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x90, 0x40, 0x44];

#[test]
fn variants_equal_separately_compiled_stencils_on_every_target() {
    let clang = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    let dir = scratch("variants");
    let template = dir.join("mul.c");
    std::fs::write(&template, TEMPLATE).unwrap();
    // The same source without its variants line, for one variant at a time.
    let single = dir.join("single.c");
    std::fs::write(&single, TEMPLATE.split_once('\n').unwrap().1).unwrap();
    for target in Target::ALL {
        let generated = Builder::new()
            .templates([&template])
            .target(target)
            .cache_dir(dir.join("cache"))
            .cargo_metadata(false)
            .generate_with(&clang, &|_| {})
            .unwrap_or_else(|e| panic!("{target}: {e}"));
        let groups = &generated.extraction.groups;
        assert_eq!(groups.len(), 6, "{target}");
        // The index array, row by row: MUL[d][s] names the group of D = d, S = the s-th of (0, 2).
        let mut rows = Vec::new();
        for d in 0..3 {
            let row: Vec<String> = [0, 2]
                .iter()
                .map(|s| {
                    let name = format!("mul__d{d}_s{s}");
                    groups
                        .iter()
                        .position(|g| g.name == name)
                        .unwrap_or_else(|| panic!("{target}: no group {name}"))
                        .to_string()
                })
                .collect();
            rows.push(format!("[{}],", row.join(", ")));
        }
        let array = format!("pub const MUL: [[u16; 2]; 3] = [\n{}\n];", rows.join("\n"));
        assert!(
            generated.rust.contains(&array),
            "{target}:\n{}",
            generated.rust
        );
        for d in 0..3 {
            for s in [0, 2] {
                let alone = Builder::new()
                    .templates([&single])
                    .target(target)
                    .define("D", Some(&d.to_string()))
                    .define("S", Some(&s.to_string()))
                    .cache_dir(dir.join("cache"))
                    .cargo_metadata(false)
                    .generate_with(&clang, &|_| {})
                    .unwrap_or_else(|e| panic!("{target} D={d} S={s}: {e}"));
                let expected = &alone.extraction.groups[0];
                let name = format!("mul__d{d}_s{s}");
                let variant = groups.iter().find(|g| g.name == name).unwrap();
                let mut code = variant.code.clone();
                if target == Target::X86_64AppleDarwin {
                    // A Mach-O atom runs to the next symbol: the variant keeps the NOP fill
                    // clang aligns the next function with (never executed).
                    let fill = code
                        .body
                        .split_off(expected.code.body.len().min(code.body.len()));
                    assert!(
                        fill.len() < 16 && fill.iter().all(|b| X86_NOP_BYTES.contains(b)),
                        "{target} {name}: {fill:02x?} after the code"
                    );
                }
                assert_eq!(code, expected.code, "{target} {name}: code");
                assert_eq!(variant.data, expected.data, "{target} {name}: data");
            }
        }
    }
}

#[test]
fn a_no_op_rebuild_reads_no_object_and_a_change_rebuilds() {
    let dir = scratch("variants-stamp");
    let template = dir.join("mul.c");
    std::fs::write(&template, TEMPLATE).unwrap();
    let out = dir.join("stencils.rs");
    let build = || {
        Builder::new()
            .templates([&template])
            .target(Target::X86_64UnknownLinuxGnu)
            .cache_dir(dir.join("cache"))
            .out_path(&out)
            .cargo_metadata(false)
            .build()
            .unwrap()
    };
    let first = build();
    assert_eq!((first.compiled, first.stencils), (1, 6));
    let text = std::fs::read(&out).unwrap();
    // Nothing changed: the stamp answers (the same counts, nothing compiled or re-read).
    let second = build();
    assert_eq!((second.compiled, second.cached, second.stencils), (0, 1, 6));
    assert_eq!(second.code_bytes, first.code_bytes);
    assert_eq!(second.holes, first.holes);
    // A damaged output is noticed and rewritten.
    std::fs::write(&out, "// edited\n").unwrap();
    build();
    assert_eq!(std::fs::read(&out).unwrap(), text);
    // A changed domain is a different table.
    std::fs::write(&template, TEMPLATE.replace("S=0,2", "S=0..=2")).unwrap();
    let third = build();
    assert_eq!((third.compiled, third.stencils), (1, 9));
    assert!(String::from_utf8(std::fs::read(&out).unwrap())
        .unwrap()
        .contains("pub const MUL: [[u16; 3]; 3]"));
}

#[test]
fn a_bad_variants_line_is_an_error_naming_the_line() {
    let dir = scratch("variants-bad");
    let template = dir.join("bad.c");
    std::fs::write(
        &template,
        "#include \"patchjit.h\"\n// patchjit-variants: D=0..9\n",
    )
    .unwrap();
    let error = Builder::new()
        .templates([&template])
        .target(Target::X86_64UnknownLinuxGnu)
        .cache_dir(dir.join("cache"))
        .cargo_metadata(false)
        .generate_with(&find_clang(None).unwrap(), &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("bad.c:2:") && error.contains("LO..=HI"),
        "{error}"
    );
}
