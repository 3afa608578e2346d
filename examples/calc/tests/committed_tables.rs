//! The committed tables in `stencils/` are what clang makes of the templates now (the same
//! configuration as build.rs), for both Linux targets. Fails with the stale file's name.

include!("../build_config.rs");

use std::path::Path;

use patchjit_build::{find_clang, Target};

#[test]
fn committed_tables_are_fresh() {
    let clang = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calc-committed-cache");
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
    ] {
        let generated = calc_builder(root)
            .target(target)
            .cache_dir(&cache)
            .cargo_metadata(false)
            .generate_with(&clang, &|_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let path = root.join(format!("stencils/{}.rs", target.triple()));
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == generated.rust,
            "{} is stale; regenerate with: patchjit build --target {} -o {} --allow-symbol \
             calc_isqrt --shim shim examples/calc/templates/*.c",
            path.display(),
            target.triple(),
            path.display()
        );
    }
}
