//! Shared helpers for the builder tests: fresh scratch directories and a builder over
//! `tests/templates`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use patchjit_build::Builder;

pub fn template(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/templates/{name}.c"))
}

/// A new empty directory under Cargo's per-test temporary directory, kept after the test for a
/// look at what it left.
pub fn scratch(name: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("build-{name}-"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep()
}

/// A builder for the named templates with its own cache and output, no `cargo:` lines.
pub fn builder(names: &[&str], dir: &Path) -> Builder {
    Builder::new()
        .templates(names.iter().map(|n| template(n)))
        .target(patchjit_build::Target::X86_64UnknownLinuxGnu)
        .custom_values(["SCALE"])
        .cache_dir(dir.join("cache"))
        .out_path(dir.join("stencils.rs"))
        .cargo_metadata(false)
}
