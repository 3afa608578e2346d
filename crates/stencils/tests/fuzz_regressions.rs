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
/// `_second.calls` (0x150) below it (and `"Alignment"` added to its sections since the reader
/// needs it).
#[test]
fn readobj_json_symbol_outside_its_section_is_an_error() {
    let bytes = input("macho_symbol_outside_section.json");
    let json = std::str::from_utf8(&bytes).unwrap();
    let target = readobj_json_target("multi.json", json).unwrap();
    let sections = read_readobj_json("multi.json", json, target).unwrap();
    let message = message(extract("multi.json", &[sections], &Options::default()));
    assert!(message.contains("lies outside section"), "{message}");
}

/// An i686 COFF object (the mutation campaign's) whose `.bss` claims 160 MiB: extraction used
/// to fill it, taking 40 s to dump; the per-object zero-fill cap makes it an error at once.
#[test]
fn a_coff_bss_of_160_mib_is_refused_at_once() {
    let bytes = input("coff_bss_160mib.bin");
    let start = std::time::Instant::now();
    let result = extract_objects(&[("bss.o", &bytes)], None, &Options::default());
    let message = message(result);
    assert!(
        message.contains(".bss") && message.contains("over the limit"),
        "{message}"
    );
    // Generous for a debug build on a loaded machine; it took 40 s before the cap.
    assert!(start.elapsed().as_secs() < 5, "took {:?}", start.elapsed());
}
