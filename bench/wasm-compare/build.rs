//! Compiles the C workloads (`workloads/*.c`) to WebAssembly 1.0 with clang-19
//! (`--target=wasm32 -mcpu=mvp`, linked by wasm-ld) and writes `c_workloads.rs` into
//! `OUT_DIR`: each workload's bytes, or, when clang cannot be run, the reason, so that the
//! crate still builds (clippy, the text workloads) and the bench says what is missing.
//!
//! The compiler is `PATCHJIT_CLANG` if set, else `clang-19` on `PATH` (as the tests use).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C workloads, in the order the tables list them.
const C_WORKLOADS: [&str; 5] = ["matmul", "sort", "crc", "sieve", "interp"];

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("workloads");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let clang = std::env::var_os("PATCHJIT_CLANG").unwrap_or_else(|| "clang-19".into());
    println!("cargo:rerun-if-env-changed=PATCHJIT_CLANG");
    let mut rs = String::from("&[\n");
    for name in C_WORKLOADS {
        let source = dir.join(format!("{name}.c"));
        println!("cargo:rerun-if-changed={}", source.display());
        let wasm = out.join(format!("{name}.wasm"));
        let entry = match compile(Path::new(&clang), &source, &wasm) {
            Ok(()) => format!("Ok(include_bytes!({:?}))", wasm.display().to_string()),
            Err(why) => {
                println!("cargo:warning={why}");
                format!("Err({why:?})")
            }
        };
        rs.push_str(&format!("    ({name:?}, {entry}),\n"));
    }
    rs.push_str("]\n");
    std::fs::write(out.join("c_workloads.rs"), rs).unwrap();
}

/// Compiles and links `source` into `wasm`. A clang that cannot be started is reported;
/// a clang that fails on the committed sources is a broken checkout and stops the build.
fn compile(clang: &Path, source: &Path, wasm: &Path) -> Result<(), String> {
    let output = Command::new(clang)
        .args(["--target=wasm32", "-mcpu=mvp", "-O2", "-nostdlib"])
        .args(["-Wl,--no-entry", "-Wl,--export=run"])
        .arg(source)
        .arg("-o")
        .arg(wasm)
        .output()
        .map_err(|e| {
            format!(
                "cannot run {} ({e}): the C workloads are not built; install clang-19, \
                 lld-19 (wasm-ld) or set PATCHJIT_CLANG",
                clang.display()
            )
        })?;
    if !output.status.success() {
        panic!(
            "{} failed on {}:\n{}",
            clang.display(),
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
