//! Property tests: real clang-19 objects for every target, mutated at random (byte changes,
//! truncation, splices), must give `Ok` or an `Error` from the reader and from extraction —
//! never a panic, and never an absurd allocation.

mod common;

use std::sync::OnceLock;

use patchjit_stencils::{extract_objects, read_object, Options, Target};
use proptest::prelude::*;

/// One real object per target, compiled once per test run.
fn objects() -> &'static Vec<(Target, Vec<u8>)> {
    static OBJECTS: OnceLock<Vec<(Target, Vec<u8>)>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        Target::ALL
            .into_iter()
            .map(|target| (target, common::compile(target, "holes", &[])))
            .collect()
    })
}

/// A mutation of one object: some bytes replaced, then optionally cut short.
#[derive(Debug, Clone)]
struct Mutation {
    object: usize,
    edits: Vec<(usize, u8)>,
    cut: Option<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        0..Target::ALL.len(),
        proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        proptest::option::of(any::<usize>()),
    )
        .prop_map(|(object, edits, cut)| Mutation { object, edits, cut })
}

fn apply(m: &Mutation) -> (Target, Vec<u8>) {
    let (target, original) = &objects()[m.object];
    let mut bytes = original.clone();
    for &(at, value) in &m.edits {
        let i = at % bytes.len();
        bytes[i] = value;
    }
    if let Some(cut) = m.cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    (*target, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_objects_never_panic_the_reader_or_extraction(m in mutation()) {
        let (target, bytes) = apply(&m);
        let _ = read_object("mutated.o", &bytes, None);
        let _ = read_object("mutated.o", &bytes, Some(target));
        let _ = extract_objects(&[("mutated.o", &bytes)], Some(target), &Options::default());
    }

    #[test]
    fn random_bytes_are_errors(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(read_object("random.o", &bytes, None).is_err());
    }
}
