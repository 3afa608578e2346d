//! Narrow values through the writers: the Rust table names their values and patch kinds, the
//! JSON keeps them, and the CPython 3.14 header writer refuses them (CPython 3.14 has none).

mod support;

use patchjit_build::cpython::{HeaderError, PatchDialect, TargetHeader};
use patchjit_build::find_clang;
use patchjit_stencils::{HoleValue, PatchKind};
use support::{builder, scratch};

#[test]
fn narrow_values_reach_every_writer() {
    let clang = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    let generated = builder(&["shim", "narrow"], &scratch("narrow"))
        .shims(["shim"])
        .generate_with(&clang, &|_| {})
        .unwrap();
    let rust = &generated.rust;
    for value in ["Operand0S32", "Operand1S16"] {
        let hole =
            format!("patch: ::patchjit::PatchKind::Abs32, value: ::patchjit::HoleValue::{value},");
        assert!(rust.contains(&hole), "{rust}");
    }

    let (_, from_json) = patchjit_stencils::from_json("stencils.json", &generated.json()).unwrap();
    assert_eq!(from_json, generated.extraction);
    let narrow = from_json
        .groups
        .iter()
        .find(|g| g.name == "narrow")
        .unwrap();
    let values: Vec<_> = narrow
        .code
        .holes
        .iter()
        .filter(|h| h.patch == PatchKind::Abs32)
        .map(|h| h.value.clone())
        .collect();
    assert_eq!(values, [HoleValue::Operand0S32, HoleValue::Operand1S16]);

    let comments = vec![vec![]; generated.extraction.groups.len()];
    let header = TargetHeader {
        digest: "0",
        command: "x",
        extraction: &generated.extraction,
        code_comments: &comments,
        dialect: PatchDialect::Plain,
    }
    .render()
    .unwrap_err();
    assert!(
        matches!(&header, HeaderError::UnprintableValue { value, .. } if value == "OPERAND0_S32"),
        "{header:?}"
    );
    assert!(
        header
            .to_string()
            .ends_with("which CPython's jit.c cannot patch"),
        "{header}"
    );
}
