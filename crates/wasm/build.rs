//! Builds the JIT's stencils with clang, or takes the committed tables when clang is missing.
//! The JIT tier exists where tables are committed: Linux on x86-64 and AArch64 (`cfg(wasm_jit)`).

include!("build_config.rs");

fn main() {
    println!("cargo::rustc-check-cfg=cfg(wasm_jit)");
    println!("cargo:rerun-if-changed=build_config.rs");
    println!("cargo:rerun-if-changed=templates");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let arch = var("CARGO_CFG_TARGET_ARCH");
    if var("CARGO_CFG_TARGET_OS") != "linux" || !matches!(arch.as_str(), "x86_64" | "aarch64") {
        return;
    }
    println!("cargo:rustc-cfg=wasm_jit");
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    if let Err(error) = jit_builder(&root).build() {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
