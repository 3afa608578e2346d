//! The harnesses reach the end of their pipelines on real inputs: a fuzz target that stopped at
//! the reader for every seed would run without finding anything. Needs clang-19 (or
//! `$PATCHJIT_CLANG`), as the seeds do.

use std::path::{Path, PathBuf};
use std::process::Command;

use patchjit_fuzz::{bpf, objects};
use patchjit_stencils::{ClangArgs, Target};

fn clang() -> String {
    std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Compiles `source` with `args` and returns the object's bytes.
fn compile(source: &Path, args: &[&str], name: &str) -> Vec<u8> {
    let out: PathBuf =
        std::env::temp_dir().join(format!("patchjit-fuzz-{}-{name}", std::process::id()));
    let status = Command::new(clang())
        .args(args)
        .arg("-o")
        .arg(&out)
        .arg(source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang()));
    assert!(status.success(), "clang failed on {}", source.display());
    let bytes = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).unwrap();
    bytes
}

#[test]
fn template_objects_of_every_target_are_emitted() {
    let source = root().join("crates/runtime/tests/templates/call_helper.c");
    for target in Target::ALL {
        let triple = format!("--target={}", target.triple());
        let mut args = vec![triple.as_str(), "-O3", "-c", "-ffreestanding", "-fno-plt"];
        args.extend(["-fno-asynchronous-unwind-tables", "-fno-stack-protector"]);
        args.extend(target.clang_args());
        let bytes = compile(&source, &args, &format!("{target}.o"));
        assert_eq!(
            objects::object(&bytes),
            objects::Reached::Emitted,
            "{target}"
        );
    }
}

#[test]
fn programs_with_and_without_loops_reach_the_jit() {
    let bpf = ["-target", "bpf", "-O2", "-c"];
    let straight = compile(&root().join("fuzz/bpf/straight.c"), &bpf, "straight.o");
    let jitted = if cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )) {
        bpf::Reached::Jitted
    } else {
        bpf::Reached::Interpreted
    };
    assert_eq!(bpf::elf_object(&straight), jitted);
    let looping = compile(
        &root().join("crates/bpf/tests/programs/loop.c"),
        &bpf,
        "loop.o",
    );
    assert_eq!(bpf::elf_object(&looping), jitted);
}
