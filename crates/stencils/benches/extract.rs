//! Extraction throughput on 300 objects of CPython micro-op size (about 1 KiB each): ten real
//! clang-19 objects (the test templates at -O3 and -Os, x86-64 Linux with CPython's flags)
//! compiled once and cycled to 300 in memory. Four measurements, all over the same 300:
//!
//! - `copy`: cloning the 300 byte buffers — the floor any reader pays to touch the bytes;
//! - `read_object`: parsing the objects into `ObjectSections` only;
//! - `read_object+extract`: the whole in-process route, one `extract_objects` call per object
//!   (replicas share group names, so they cannot share one call);
//! - `readobj_json+extract`: CPython's route minus the subprocess: parsing the 300
//!   `llvm-readobj-19` JSON outputs (produced once, before timing) and extracting each.
//!
//! Run: `cargo bench -p patchjit-stencils --bench extract`. Needs clang-19 (or `PATCHJIT_CLANG`)
//! and llvm-readobj-19.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use patchjit_stencils::{
    extract, extract_objects, read_object, read_readobj_json, Options, Target,
};

const OBJECTS: usize = 300;
const TARGET: Target = Target::X86_64UnknownLinuxGnu;

/// (template path relative to the crate, extra flags)
const SOURCES: [(&str, &[&str]); 5] = [
    ("tests/templates/empty.c", &[]),
    ("tests/templates/holes.c", &[]),
    ("tests/templates/calls.c", &[]),
    (
        "tests/templates/multi.c",
        &["-ffunction-sections", "-fdata-sections"],
    ),
    ("tests/templates_readobj/data.c", &[]),
];

/// The ten distinct objects and their `llvm-readobj` JSON.
fn corpus() -> Vec<(String, Vec<u8>, String)> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for opt in ["-O3", "-Os"] {
        for (source, extra) in SOURCES {
            let source = crate_dir.join(source);
            let stem = source.file_stem().unwrap().to_string_lossy().to_string();
            // The template flags say -O3; a later -Os wins.
            let compiled =
                patchjit_test_support::compile(TARGET, &source, &[&[opt], extra].concat());
            let object = compiled.path();
            let json = patchjit_test_support::readobj_json(object);
            out.push((format!("{stem}.o"), std::fs::read(object).unwrap(), json));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let distinct = corpus();
    let objects: Vec<&(String, Vec<u8>, String)> = distinct.iter().cycle().take(OBJECTS).collect();
    let bytes: u64 = objects.iter().map(|(_, b, _)| b.len() as u64).sum();
    let named: Vec<(&str, &[u8])> = objects
        .iter()
        .map(|(n, b, _)| (n.as_str(), b.as_slice()))
        .collect();
    let options = Options {
        custom_values: vec!["COUNTER".to_string()],
        ..Default::default()
    };
    // Both routes must work, and agree, on the corpus before anything is timed.
    let mut groups = 0;
    for (name, object, json) in &objects {
        let direct = extract_objects(&[(name, object)], Some(TARGET), &options).unwrap();
        let sections = read_readobj_json(name, json, TARGET).unwrap();
        assert_eq!(extract(name, &[sections], &options).unwrap(), direct);
        groups += direct.groups.len();
    }
    eprintln!(
        "{OBJECTS} objects, {bytes} object bytes, {} JSON bytes, {groups} groups",
        objects.iter().map(|(.., j)| j.len()).sum::<usize>(),
    );

    let mut group = c.benchmark_group("extract_300");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("copy", |b| {
        b.iter(|| {
            black_box(&objects)
                .iter()
                .map(|(_, bytes, _)| bytes.clone())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("read_object", |b| {
        b.iter(|| {
            black_box(&named)
                .iter()
                .map(|(n, bytes)| read_object(n, bytes, Some(TARGET)).unwrap())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("read_object+extract", |b| {
        b.iter(|| {
            black_box(&named)
                .iter()
                .map(|&object| extract_objects(&[object], Some(TARGET), &options).unwrap())
                .collect::<Vec<_>>()
        })
    });
    group.bench_function("readobj_json+extract", |b| {
        b.iter(|| {
            black_box(&objects)
                .iter()
                .map(|(n, _, j)| {
                    let sections = read_readobj_json(n, j, TARGET).unwrap();
                    extract(n, &[sections], &options).unwrap()
                })
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
