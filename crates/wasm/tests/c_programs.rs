//! Real input: a C program compiled to WebAssembly 1.0 by clang-19 (`--target=wasm32
//! -mcpu=mvp`, linked by wasm-ld) runs on every tier at -O0 and -O2 and agrees with the same
//! computations in Rust; the default CPU's output (post-1.0 encodings) is rejected.

use std::path::Path;
use std::rc::Rc;

use patchjit_test_support::clang;
use patchjit_wasm::module::Module;
use patchjit_wasm::store::{Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::types::Value;

/// `tests/programs/mix.c` compiled and linked for wasm32 with `flags`.
fn compile(flags: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mix.wasm");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/mix.c");
    let status = std::process::Command::new(&clang().path)
        .args(["--target=wasm32", "-nostdlib", "-Wl,--no-entry"])
        .args(flags)
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang().path.display()));
    assert!(
        status.success(),
        "clang {flags:?} failed on {}",
        source.display()
    );
    std::fs::read(out).unwrap()
}

fn sorted_checksum(n: usize, desc: bool) -> u32 {
    let mut seed: u32 = 12345;
    let mut data: Vec<i32> = (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
            (seed >> 8) as i32 % 100000
        })
        .collect();
    data.sort_unstable();
    if desc {
        data.reverse();
    }
    data.iter()
        .fold(2166136261u32, |h, &v| (h ^ v as u32).wrapping_mul(16777619))
}

fn newton_sqrt(x: f64) -> f64 {
    (0..60).fold(x, |g, _| 0.5 * (g + x / g))
}

#[test]
fn a_c_program_for_1_0_runs_and_agrees_with_rust() {
    for opt in ["-O0", "-O2"] {
        let bytes = compile(&["-mcpu=mvp", opt]);
        for &tier in Tier::ALL {
            let module = Rc::new(Module::decode(&bytes).unwrap_or_else(|e| panic!("{opt}: {e}")));
            let mut store = Store::new(tier);
            let instance = store.instantiate(module, &|_, _| None).unwrap();
            let mut call = |name: &str, args: &[Value]| {
                let Some(Extern::Func(f)) = store.export(instance, name) else {
                    panic!("{opt}: no export {name}");
                };
                store
                    .invoke(f, args)
                    .unwrap_or_else(|e| panic!("{opt} {name}: {e}"))
            };
            for (n, desc) in [(1000, false), (1000, true), (7, true)] {
                assert_eq!(
                    call("sorted_checksum", &[Value::I32(n), Value::I32(desc as i32)]),
                    [Value::I32(sorted_checksum(n as usize, desc) as i32)],
                    "{opt}: sorted_checksum({n}, {desc})"
                );
            }
            assert_eq!(call("collatz", &[Value::I64(27)]), [Value::I64(111)]);
            assert_eq!(call("collatz", &[Value::I64(837799)]), [Value::I64(524)]);
            for x in [2.0, 1e-300, 12345.678] {
                assert_eq!(
                    call("newton_sqrt", &[Value::F64(f64::to_bits(x))]),
                    [Value::F64(newton_sqrt(x).to_bits())],
                    "{opt}: newton_sqrt({x})"
                );
            }
            assert_eq!(
                call("ack", &[Value::I32(2), Value::I32(3)]),
                [Value::I32(9)]
            );
            assert_eq!(
                call("ack", &[Value::I32(3), Value::I32(3)]),
                [Value::I32(61)]
            );
            assert_eq!(call("sext", &[Value::I32(200)]), [Value::I32(-56)]);
            assert_eq!(call("sext", &[Value::I32(100)]), [Value::I32(100)]);
        }
    }
}

#[test]
fn the_default_cpu_output_is_not_1_0_and_is_rejected() {
    // LLVM 19's generic CPU enables sign extension and reference types (whose call_indirect
    // carries a multi-byte table index): features after 1.0.
    let bytes = compile(&["-O2"]);
    assert!(Module::decode(&bytes).is_err());
}
