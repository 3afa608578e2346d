//! Builds the calc stencils with clang, or takes the committed tables when clang is missing.

include!("build_config.rs");

fn main() {
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=build_config.rs");
    if let Err(error) = calc_builder(&root).build() {
        eprintln!("{error}");
        std::process::exit(1);
    }
}
