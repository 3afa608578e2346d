//! Property tests for the `llvm-readobj` JSON reader: real `llvm-readobj-19` output of clang-19
//! objects for every target, mutated at random (characters replaced, numbers replaced by
//! arbitrary ones, cuts), must give `Ok` or an `Error` from the reader and from extraction of
//! what it read — never a panic, and never an absurd allocation.

mod common;

use std::sync::OnceLock;

use patchjit_stencils::{extract, read_readobj_json, Options, Target};
use proptest::prelude::*;

/// `llvm-readobj` JSON of one real object per target, produced once per test run.
fn outputs() -> &'static Vec<(Target, String)> {
    static OUTPUTS: OnceLock<Vec<(Target, String)>> = OnceLock::new();
    OUTPUTS.get_or_init(|| {
        Target::ALL
            .into_iter()
            .map(|target| {
                let object = common::compile_to(target, "calls", &[]);
                (target, patchjit_test_support::readobj_json(object.path()))
            })
            .collect()
    })
}

/// Byte ranges of the unsigned decimal numbers in `text`.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            out.push((start, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Characters that keep mutated text close to JSON, so the parser gets past the first bytes.
const ALPHABET: &[u8] = b"[]{}\":,-0123456789abcXYZ\n ";

#[derive(Debug, Clone)]
struct Mutation {
    output: usize,
    /// (which number, replacement) — replacements include negative and 64-bit values.
    numbers: Vec<(usize, String)>,
    /// (position, index into ALPHABET)
    chars: Vec<(usize, usize)>,
    cut: Option<usize>,
}

fn replacement() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..64).prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e400".to_string()),
        Just("\"x\"".to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        0..Target::ALL.len(),
        proptest::collection::vec((any::<usize>(), replacement()), 0..6),
        proptest::collection::vec((any::<usize>(), 0..ALPHABET.len()), 0..3),
        proptest::option::weighted(0.2, any::<usize>()),
    )
        .prop_map(|(output, numbers, chars, cut)| Mutation {
            output,
            numbers,
            chars,
            cut,
        })
}

fn apply(m: &Mutation) -> (Target, String) {
    let (target, original) = &outputs()[m.output];
    let mut text = original.clone();
    for (which, new) in &m.numbers {
        let spans = numbers(&text);
        if !spans.is_empty() {
            let (start, end) = spans[which % spans.len()];
            text.replace_range(start..end, new);
        }
    }
    let mut bytes = text.into_bytes();
    for &(at, c) in &m.chars {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = ALPHABET[c];
        }
    }
    if let Some(cut) = m.cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    // Every byte written is ASCII and cuts may split nothing else: the output is ASCII.
    (*target, String::from_utf8(bytes).expect("ASCII"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    #[test]
    fn mutated_readobj_output_never_panics(m in mutation()) {
        let (target, text) = apply(&m);
        if let Ok(sections) = read_readobj_json("mutated.json", &text, target) {
            let _ = extract("mutated.json", &[sections], &Options::default());
        }
        // The same text for every other target: a mismatch must be an error, not a panic.
        for other in Target::ALL {
            let _ = read_readobj_json("mutated.json", &text, other);
        }
    }

    #[test]
    fn random_text_never_panics(text in "[\\[\\]{}\":,0-9a-zA-Z ]{0,256}") {
        for target in Target::ALL {
            let _ = read_readobj_json("random.json", &text, target);
        }
    }
}
