//! The committed tables in `stencils/` are what clang makes of the templates now (the same
//! configuration as build.rs), for both Linux targets.

include!("../build_config.rs");

use std::path::Path;

use patchjit_build::{find_clang, Target};

#[test]
fn committed_tables_are_fresh() {
    let clang = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stale = calc_builder(root)
        .cache_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join("calc-committed-cache"))
        .stale_committed_tables(
            &clang,
            &[
                Target::X86_64UnknownLinuxGnu,
                Target::Aarch64UnknownLinuxGnu,
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; regenerate each with: patchjit build --target TRIPLE -o \
         examples/calc/stencils/TRIPLE.rs --allow-symbol calc_isqrt --shim shim examples/calc/templates/*.c"
    );
}
