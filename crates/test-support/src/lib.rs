//! What the tests of several patchjit crates need alike, defined once: the clang they compile
//! templates with, the flags, compiling a C file for a target, `llvm-readobj`'s JSON of it, the
//! eBPF conformance suite's location, and special files for the output tests. A dev-dependency only; never published.

#[cfg(unix)]
pub mod special_files;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use patchjit_build::{find_tool, Target, Tool, ToolKind, Versions, COMMON_FLAGS};
use patchjit_stencils::ClangArgs;

/// The clang every test runs: `$PATCHJIT_CLANG`, else `clang-19` (then `clang`) on `PATH`,
/// found by patchjit-build's own finder. Exactly LLVM 19, because the tests' expectations were
/// read off its objects; anything else fails the test, naming what was found.
pub fn clang() -> &'static Tool {
    static CLANG: OnceLock<Tool> = OnceLock::new();
    CLANG.get_or_init(|| {
        find_tool(ToolKind::Clang, Versions::Exactly(19), None).unwrap_or_else(|p| panic!("{p}"))
    })
}

/// The template flags of the extraction and runtime tests: patchjit-build's [`COMMON_FLAGS`]
/// without `-ffunction-sections -fdata-sections` (one `.text` per object, as CPython compiles
/// its templates), then the target's own (`-fplt` on AArch64 Windows thus wins over
/// `-fno-plt`).
pub fn template_flags(target: Target) -> Vec<&'static str> {
    COMMON_FLAGS
        .iter()
        .copied()
        .filter(|f| !matches!(*f, "-ffunction-sections" | "-fdata-sections"))
        .chain(target.clang_args().iter().copied())
        .collect()
}

/// An object file clang made, in its own scratch directory (removed on drop).
#[derive(Debug)]
pub struct Object {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Object {
    /// Where the object is, for tools that read files (`patchjit dump`, `llvm-readobj`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The object's contents, for the extraction functions that take bytes.
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

/// Compiles `source` (C or assembly) for `target` with [`template_flags`] plus `extra` (which
/// come last, so they override). A failing compile fails the test with clang's message.
pub fn compile(target: Target, source: &Path, extra: &[&str]) -> Object {
    let dir = tempfile::Builder::new()
        .prefix("patchjit-test-")
        .tempdir()
        .unwrap();
    let stem = source.file_stem().unwrap().to_string_lossy();
    let path = dir.path().join(format!("{}-{stem}.o", target.triple()));
    let clang = clang();
    let output = Command::new(&clang.path)
        .arg(format!("--target={}", target.triple()))
        .args(template_flags(target))
        .args(extra)
        .arg("-o")
        .arg(&path)
        .arg(source)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang.path.display()));
    assert!(
        output.status.success(),
        "clang failed on {} for {target}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Object { path, _dir: dir }
}

/// `llvm-readobj-19`'s JSON for `object`, asked for exactly as CPython 3.14's `Tools/jit`
/// does: the input of the second reader, `patchjit_stencils::read_readobj_json`.
pub fn readobj_json(object: &Path) -> String {
    let tool = "llvm-readobj-19";
    let output = Command::new(tool)
        .args([
            "--elf-output-style=JSON",
            "--expand-relocs",
            "--section-data",
            "--section-relocations",
            "--section-symbols",
            "--sections",
        ])
        .arg(object)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} failed on {}:\n{}",
        object.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("llvm-readobj prints UTF-8")
}

/// The bpf_conformance suite's directory `sub` (`tests`, `negative`):
/// `$PATCHJIT_BPF_CONFORMANCE/sub`, else `../shared/bpf-conformance/sub` beside the checkout.
pub fn bpf_conformance(sub: &str) -> PathBuf {
    std::env::var_os("PATCHJIT_BPF_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bpf-conformance")
        })
        .join(sub)
}

/// The WebAssembly 1.0 spec suite's directory of `.wast` scripts:
/// `$PATCHJIT_WASM_TESTSUITE`, else `../shared/wasm-testsuite` beside the checkout.
pub fn wasm_testsuite() -> PathBuf {
    std::env::var_os("PATCHJIT_WASM_TESTSUITE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/wasm-testsuite")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_flags_are_the_builders_without_section_splitting_then_the_targets() {
        let target = Target::Aarch64PcWindowsMsvc;
        let flags = template_flags(target);
        let (common, own) = flags.split_at(flags.len() - target.clang_args().len());
        assert_eq!(own, target.clang_args());
        assert_eq!(common.len(), COMMON_FLAGS.len() - 2);
        assert!(
            common.iter().all(|f| COMMON_FLAGS.contains(f)),
            "{common:?}"
        );
        assert!(!common.contains(&"-ffunction-sections") && !common.contains(&"-fdata-sections"));
        // The target's `-fplt` comes after the common `-fno-plt`, so it wins.
        let position = |flag| flags.iter().rposition(|f| *f == flag).unwrap();
        assert!(position("-fplt") > position("-fno-plt"));
    }

    #[test]
    fn compile_makes_an_object_and_a_bad_source_fails_the_test() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.c");
        std::fs::write(&good, "int f(int x) { return x + 1; }\n").unwrap();
        let object = compile(Target::X86_64UnknownLinuxGnu, &good, &[]);
        assert!(object.bytes().starts_with(b"\x7fELF"));
        let bad = dir.path().join("bad.c");
        std::fs::write(&bad, "int f(int x) { return x + ; }\n").unwrap();
        let failed = std::panic::catch_unwind(|| compile(Target::X86_64UnknownLinuxGnu, &bad, &[]));
        let message = failed.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("clang failed on"), "{message}");
        assert!(message.contains("expected expression"), "{message}");
    }
}
