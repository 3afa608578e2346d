//! With clang hidden (`PATCHJIT_CLANG=/nonexistent`), the build copies the committed table.
//! Own process: it sets an environment variable.

include!("../build_config.rs");

use std::path::Path;

use patchjit_build::{TableSource, Target};

#[test]
fn hidden_clang_uses_the_committed_table() {
    std::env::set_var("PATCHJIT_CLANG", "/nonexistent");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("calc-without-clang");
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
    ] {
        let output = out.join(format!("{}.rs", target.triple()));
        let report = calc_builder(root)
            .target(target)
            .cache_dir(out.join("cache"))
            .out_path(&output)
            .cargo_metadata(false)
            .build()
            .unwrap();
        assert_eq!(report.source, TableSource::Committed);
        assert_eq!(
            std::fs::read(&output).unwrap(),
            std::fs::read(root.join(format!("stencils/{}.rs", target.triple()))).unwrap()
        );
    }
}
