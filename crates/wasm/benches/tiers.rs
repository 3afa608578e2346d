//! The tiers on `tests/programs/mix.c` compiled by clang-19 for wasm32 1.0 (`-O2`): the time
//! to decode and instantiate the module (which compiles it, on the JIT), and the run time of
//! its exports (a sort through function pointers, Collatz steps, Newton's square root,
//! Ackermann's recursion). Run: `cargo bench -p patchjit-wasm --bench tiers`.

use std::path::Path;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use patchjit_test_support::clang;
use patchjit_wasm::module::Module;
use patchjit_wasm::store::{Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::types::Value;

fn mix() -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("patchjit-wasm-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let out = dir.join("mix.wasm");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/mix.c");
    let status = std::process::Command::new(&clang().path)
        .args([
            "--target=wasm32",
            "-nostdlib",
            "-Wl,--no-entry",
            "-mcpu=mvp",
            "-O2",
        ])
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("runs clang");
    assert!(status.success(), "clang failed on {}", source.display());
    let bytes = std::fs::read(&out).expect("reads the module");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

fn instantiate(tier: Tier, bytes: &[u8]) -> (Store, u32) {
    let module = Rc::new(Module::decode(bytes).expect("valid"));
    let mut store = Store::new(tier);
    let instance = store.instantiate(module, &|_, _| None).expect("links");
    (store, instance)
}

fn benches(c: &mut Criterion) {
    let bytes = mix();
    let mut g = c.benchmark_group("instantiate");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    for &tier in Tier::ALL {
        g.bench_function(tier.name(), |b| b.iter(|| instantiate(tier, &bytes)));
    }
    g.finish();
    let calls: [(&str, &[Value]); 4] = [
        ("sorted_checksum", &[Value::I32(1000), Value::I32(0)]),
        ("collatz", &[Value::I64(837799)]),
        ("newton_sqrt", &[Value::F64(12345.678f64.to_bits())]),
        ("ack", &[Value::I32(2), Value::I32(6)]),
    ];
    for (name, args) in calls {
        let mut g = c.benchmark_group(name);
        let mut expected = None;
        for &tier in Tier::ALL {
            let (mut store, instance) = instantiate(tier, &bytes);
            let Some(Extern::Func(f)) = store.export(instance, name) else {
                panic!("no export {name}");
            };
            // What is timed must be right: every tier gives the first tier's result.
            let result = store.invoke(f, args).expect("runs");
            assert_eq!(expected.get_or_insert_with(|| result.clone()), &result);
            g.bench_function(tier.name(), |b| b.iter(|| store.invoke(f, args)));
        }
        g.finish();
    }
}

criterion_group!(tiers, benches);
criterion_main!(tiers);
