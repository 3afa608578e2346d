//! Inputs the fuzz targets (fuzz/, docs/fuzzing.md) found crashing, kept so they stay errors.

use std::path::Path;

use patchjit_stencils::{
    extract, extract_objects, read_readobj_json, readobj_json_target, Error, Options,
};

fn input(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz_inputs")
            .join(name),
    )
    .unwrap()
}

fn message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Invalid { message, .. }) => message,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

/// A clang-19 `multi.c` object for aarch64-apple-darwin whose `__cstring` section address was
/// corrupted (0x60000000148), leaving its `_greeting` symbol below it: laying out the group's
/// atoms subtracted the section address from the symbol's and overflowed.
#[test]
fn macho_symbol_outside_its_section_is_an_error() {
    let bytes = input("macho_symbol_outside_section.bin");
    let result = extract_objects(&[("multi.o", &bytes)], None, &Options::default());
    let message = message(result);
    assert!(message.contains("lies outside section"), "{message}");
}

/// The same fault through the `llvm-readobj` JSON reader: mutated JSON of `multi.c` for
/// aarch64-apple-darwin whose `__data` address was corrupted (0x252), leaving its symbol
/// `_second.calls` (0x150) below it.
#[test]
fn readobj_json_symbol_outside_its_section_is_an_error() {
    let bytes = input("macho_symbol_outside_section.json");
    let json = std::str::from_utf8(&bytes).unwrap();
    let target = readobj_json_target("multi.json", json).unwrap();
    let sections = read_readobj_json("multi.json", json, target).unwrap();
    let message = message(extract("multi.json", &[sections], &Options::default()));
    assert!(message.contains("lies outside section"), "{message}");
}
