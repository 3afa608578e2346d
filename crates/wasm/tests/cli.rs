//! The `patchjit-wasm` command: per-file and per-tier lines and exit codes of `wast`, `run`
//! on a user's module (results, traps naming function and offset, bad arguments), and a
//! closed pipe or full disk handled without a panic.

use std::path::Path;
use std::process::{Command, Stdio};

use patchjit_test_support::special_files::{closed_pipe, full_disk};
use patchjit_test_support::wasm_testsuite;
use patchjit_wasm::tier::Tier;

fn wasm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_patchjit-wasm"))
}

fn output(command: &mut Command) -> (bool, String, String) {
    let out = command.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn wast_prints_a_line_per_file_and_a_closing_line_per_tier() {
    let suite = wasm_testsuite();
    let (ok, stdout, stderr) = output(
        wasm()
            .arg("wast")
            .arg(suite.join("address.wast"))
            .arg(suite.join("fac.wast")),
    );
    assert!(ok, "{stdout}{stderr}");
    let mut expected = Vec::new();
    for tier in Tier::ALL {
        expected.push("address.wast: 243 passed, 0 failed".to_string());
        expected.push("fac.wast: 7 passed, 0 failed".to_string());
        expected.push(format!("{}: 250 passed, 0 failed", tier.name()));
    }
    assert_eq!(stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn wast_lists_failures_with_file_and_line_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "wrong.wast",
        br#"(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "one") (i32.const 1))
"#,
    );
    write(dir.path(), "broken.wast", b"(module (func (i32.const 1)\n");
    let (ok, stdout, _) = output(
        wasm()
            .arg("wast")
            .arg(dir.path())
            .args(["--tier", "interpreter"]),
    );
    assert!(!ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "broken.wast: 0 passed, 1 failed");
    let at = dir.path().join("broken.wast");
    assert_eq!(lines[1], format!("  {}:2:1: expected `)`", at.display()));
    let rest = &lines[lines
        .iter()
        .position(|l| l.starts_with("wrong.wast"))
        .unwrap()..];
    assert_eq!(
        rest,
        [
            "wrong.wast: 2 passed, 1 failed",
            "  wrong.wast:2: expected [i32:2], got [i32:1]",
            "interpreter: 2 passed, 2 failed",
        ]
    );
    // A directory without scripts is an error, not an empty pass.
    let empty = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = output(wasm().arg("wast").arg(empty.path()));
    assert!(!ok);
    assert_eq!(
        stderr,
        format!("error: {}: no .wast files\n", empty.path().display())
    );
}

/// A user's module: arithmetic, a float, a trap.
const MODULE: &str = r#"(module
  (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
  (func $boom (export "boom") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))"#;

fn module_file(dir: &Path) -> std::path::PathBuf {
    let buf = wast::parser::ParseBuffer::new(MODULE).unwrap();
    let mut module: wast::Wat = wast::parser::parse(&buf).unwrap();
    write(dir, "user.wasm", &module.encode().unwrap())
}

#[test]
fn run_invokes_an_export_on_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let file = module_file(dir.path());
    for tier in Tier::ALL.iter().map(|t| t.name()) {
        let run = |args: &[&str]| {
            output(
                wasm()
                    .arg("run")
                    .arg(&file)
                    .args(["--tier", tier])
                    .args(args),
            )
        };
        assert_eq!(
            run(&["--invoke", "add", "-1", "0x10"]),
            (true, "15\n".into(), String::new())
        );
        assert_eq!(
            run(&["--invoke", "half", "-3"]),
            (true, "-1.5\n".into(), String::new())
        );
        // 0xffffffff is accepted as the unsigned reading of -1.
        assert_eq!(
            run(&["--invoke", "add", "0xffffffff", "0"]),
            (true, "-1\n".into(), String::new())
        );

        let (ok, stdout, stderr) = run(&["--invoke", "boom", "0"]);
        assert!(!ok && stdout.is_empty());
        let prefix = format!(
            "error: {}: `boom`: integer divide by zero in function 2 `boom` at offset 0x",
            file.display()
        );
        assert!(stderr.starts_with(&prefix), "{stderr}");
    }
}

#[test]
fn run_refuses_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = module_file(dir.path());
    let shown = file.display().to_string();
    let cases: [(&[&str], String); 4] = [
        (
            &["--invoke", "nope"],
            format!("error: {shown}: no exported function `nope` (exported: add, half, boom)\n"),
        ),
        (
            &["--invoke", "add", "1"],
            format!("error: {shown}: `add` takes 2 arguments ([i32 i64] -> [i64]), 1 given\n"),
        ),
        (
            &["--invoke", "add", "x", "1"],
            "error: `x` is not an i32\n".to_string(),
        ),
        (
            &["--invoke", "add", "4294967296", "1"],
            "error: `4294967296` is not an i32\n".to_string(),
        ),
    ];
    for (args, message) in cases {
        assert_eq!(
            output(wasm().arg("run").arg(&file).args(args)),
            (false, String::new(), message)
        );
    }
    let garbage = write(dir.path(), "garbage.wasm", b"\0asm\x01\0\0\0\x01\xff");
    let (ok, _, stderr) = output(wasm().args(["run", "--invoke", "f"]).arg(&garbage));
    assert!(!ok);
    assert!(
        stderr.starts_with(&format!("error: {}: ", garbage.display()))
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    // wast encodes without validating: a body missing its result is caught on decode.
    let buf = wast::parser::ParseBuffer::new("(module (func) (func (result i32)))").unwrap();
    let mut invalid: wast::Wat = wast::parser::parse(&buf).unwrap();
    let invalid = write(dir.path(), "invalid.wasm", &invalid.encode().unwrap());
    let (ok, _, stderr) = output(wasm().args(["run", "--invoke", "f"]).arg(&invalid));
    assert!(!ok);
    let prefix = format!("error: {}: type mismatch", invalid.display());
    assert!(
        stderr.starts_with(&prefix) && stderr.contains(" in function 1 at offset 0x"),
        "{stderr}"
    );
    let buf = wast::parser::ParseBuffer::new(r#"(module (import "env" "f" (func)))"#).unwrap();
    let mut importing: wast::Wat = wast::parser::parse(&buf).unwrap();
    let importing = write(dir.path(), "importing.wasm", &importing.encode().unwrap());
    assert_eq!(
        output(wasm().args(["run", "--invoke", "f"]).arg(&importing)),
        (
            false,
            String::new(),
            format!(
                "error: {}: imports `env`.`f`; `run` takes modules without imports\n",
                importing.display()
            )
        )
    );
    let (ok, _, stderr) = output(wasm().args(["run", "--invoke", "f", "/nonexistent.wasm"]));
    assert!(!ok);
    assert_eq!(
        stderr,
        "error: /nonexistent.wasm: No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_one_line() {
    let suite = wasm_testsuite();
    let (status, stderr) = {
        let out = wasm()
            .arg("wast")
            .arg(&suite)
            .stdout(Stdio::from(closed_pipe()))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(status.success(), "{status:?}");
    assert_eq!(stderr, "");

    let out = wasm()
        .arg("wast")
        .arg(suite.join("fac.wast"))
        .stdout(Stdio::from(full_disk()))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: writing to stdout: No space left on device (os error 28)\n"
    );
}
