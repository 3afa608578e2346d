//! Property tests for the dump's stable JSON schema (`to_json`/`from_json`, also the build
//! driver's `stencils.json`): arbitrary extractions — any bytes, offsets, signed addends, symbol
//! names with quotes, control characters and non-ASCII text — must read back unchanged and
//! write back byte for byte; mutated JSON must give `Ok` or an `Error`, never a panic.

use patchjit_stencils::{
    from_json, to_json, Extraction, Hole, HoleValue, PatchKind, RelocKind, Stencil, StencilGroup,
    Target,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = HoleValue> {
    prop_oneof![
        proptest::sample::select(&HoleValue::BUILTIN[..]),
        "[A-Z][A-Z0-9_]{0,10}"
            .prop_filter("not a built-in name", |n| HoleValue::from_builtin_name(n)
                .is_none())
            .prop_map(HoleValue::Custom),
    ]
}

fn hole() -> impl Strategy<Value = Hole> {
    (
        any::<u64>(),
        proptest::sample::select(&RelocKind::ALL[..]),
        value(),
        proptest::option::of("\\PC{0,12}|[\"\\\\\u{0}-\u{1f}]{1,4}"),
        any::<i64>(),
        proptest::sample::select(&PatchKind::ALL[..]),
    )
        .prop_map(|(offset, kind, value, symbol, addend, patch)| Hole {
            offset,
            kind,
            value,
            symbol,
            addend,
            patch,
        })
}

fn stencil() -> impl Strategy<Value = Stencil> {
    (
        proptest::collection::vec(any::<u8>(), 0..48),
        proptest::collection::vec(hole(), 0..4),
    )
        .prop_map(|(body, holes)| Stencil { body, holes })
}

/// A group as `from_json` rebuilds it: the schema carries no GOT layout, so the data length
/// stands for both `data_section_len` and `got_offset`.
fn group() -> impl Strategy<Value = StencilGroup> {
    (
        "\\PC{1,16}",
        stencil(),
        stencil(),
        proptest::collection::vec(any::<u32>(), 0..4),
        3..=12u32,
    )
        .prop_map(|(name, code, data, trampolines, log2)| StencilGroup {
            name,
            data_section_len: data.body.len(),
            got_offset: data.body.len(),
            data_align: 1 << log2,
            code,
            data,
            trampolines,
        })
}

fn extraction() -> impl Strategy<Value = (Target, Extraction)> {
    (
        proptest::sample::select(&Target::ALL[..]),
        proptest::collection::vec(group(), 0..4),
        proptest::collection::vec("\\PC{1,12}", 0..4),
    )
        .prop_map(|(target, groups, trampoline_symbols)| {
            (
                target,
                Extraction {
                    groups,
                    trampoline_symbols,
                },
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_extraction_round_trips_byte_for_byte((target, extraction) in extraction()) {
        let json = to_json(&extraction, target);
        prop_assert_eq!(&to_json(&extraction, target), &json, "output is not deterministic");
        let (read_target, read) = from_json("x.json", &json).expect("own output reads back");
        prop_assert_eq!(read_target, target);
        prop_assert_eq!(&read, &extraction);
        prop_assert_eq!(to_json(&read, target), json);
    }

    #[test]
    fn mutated_json_never_panics(
        (target, extraction) in extraction(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut bytes = to_json(&extraction, target).into_bytes();
        for (at, byte) in edits {
            let i = at % bytes.len();
            // Keep the text UTF-8 so the reader, not the test, decides what is wrong.
            bytes[i] = byte & 0x7f;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        if let Ok(text) = String::from_utf8(bytes) {
            let _ = from_json("mutated.json", &text);
        }
    }
}

#[test]
fn malformed_documents_are_errors() {
    for bad in [
        "",
        "{}",
        "[]",
        r#"{"target": "x86_64-unknown-linux-gnu"}"#,
        r#"{"target": "mips-unknown-linux-gnu", "trampoline_symbols": [], "groups": []}"#,
        r#"{"target": "x86_64-unknown-linux-gnu", "trampoline_symbols": [], "groups": [{"name": "a",
            "code": {"size": 2, "bytes": "0", "holes": []}, "data": {"size": 0, "bytes": "", "holes": []},
            "trampolines": []}]}"#,
        r#"{"target": "x86_64-unknown-linux-gnu", "trampoline_symbols": [], "groups": [{"name": "a",
            "code": {"size": 1, "bytes": "00", "holes": [{"offset": 0, "kind": "R_X86_64_99",
            "value": "CODE", "symbol": null, "addend": 0, "func": "patch_64"}]},
            "data": {"size": 0, "bytes": "", "holes": []}, "trampolines": []}]}"#,
    ] {
        assert!(from_json("bad.json", bad).is_err(), "{bad}");
    }
}
