//! `patchjit bench extract` reports its figures for real objects and refuses bad ones.

use std::process::Command;

#[test]
fn bench_extract_prints_one_json_line_with_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let object = dir.join("add.o");
    let source = dir.join("add.c");
    std::fs::write(
        &source,
        "extern char _JIT_OPARG[]; long add(long x) { return x + (long)&_JIT_OPARG; }\n",
    )
    .unwrap();
    let clang = &patchjit_test_support::clang().path;
    let status = Command::new(clang)
        .args([
            "--target=x86_64-unknown-linux-gnu",
            "-O2",
            "-c",
            "-fno-pic",
            "-mcmodel=medium",
        ])
        .args(["-mlarge-data-threshold=0"])
        .args(["-fno-asynchronous-unwind-tables", "-o"])
        .arg(&object)
        .arg(&source)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", clang.display()));
    assert!(status.success());

    let bench = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_patchjit"))
            .args(["bench", "extract"])
            .args(args)
            .output()
            .unwrap()
    };
    let output = bench(&[
        "--objects",
        "5",
        "--iterations",
        "1",
        object.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout).unwrap();
    assert_eq!(line.lines().count(), 1);
    for key in [
        "\"objects\":5",
        "\"ns_per_object\":",
        "\"mb_per_s\":",
        "\"copy_ns_per_object\":",
    ] {
        assert!(line.contains(key), "{key} missing from {line}");
    }

    let garbage = dir.join("garbage.o");
    std::fs::write(&garbage, b"garbage").unwrap();
    let output = bench(&[garbage.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("garbage.o"));
}
