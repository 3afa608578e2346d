//! The `patchjit-bpf` command: closing lines and exit codes on the conformance suites, `run` on
//! every tier (results, faults, budgets), and bad input or a closed pipe handled without a
//! panic.

use std::process::{Command, Stdio};

use patchjit_bpf::conformance::Tier;

use patchjit_test_support::bpf_conformance as suite;

fn bpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_patchjit-bpf"))
}

#[test]
fn cli_reports_closing_lines_and_exit_codes() {
    let out = bpf()
        .args([
            "conformance",
            suite("tests").to_str().unwrap(),
            "--tier",
            "interp",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("interp: 313 passed, 0 failed"));

    let out = bpf()
        .args([
            "conformance",
            suite("negative").to_str().unwrap(),
            "--expect-fail",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // One closing line per tier this build has.
    let closing: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("FAIL ")).collect();
    let expected: Vec<String> = Tier::ALL
        .iter()
        .map(|t| format!("{}: 0 passed, 60 failed", t.name()))
        .collect();
    assert_eq!(closing, expected);

    // Without --expect-fail the negative suite is a failing run.
    let out = bpf()
        .args(["conformance", suite("negative").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn cli_run_prints_r0_and_fails_cleanly() {
    let run = |tier: &str, program: &str, mem: Option<&str>| {
        let mut command = bpf();
        command.args(["run", "--tier", tier]).arg(suite(program));
        if let Some(hex) = mem {
            command.args(["--mem-hex", hex]);
        }
        let out = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stdout, stderr)
    };
    for tier in Tier::ALL.iter().map(|t| t.name()) {
        let (ok, stdout, _) = run(tier, "tests/subnet.data", None);
        assert!(
            ok && stdout.lines().last() == Some("r0 = 0x1"),
            "{tier}: {stdout}"
        );
        let (ok, stdout, _) = run(tier, "tests/ldxb.data", Some("aa bb cc dd ee"));
        assert!(
            ok && stdout.lines().last() == Some("r0 = 0xcc"),
            "{tier}: {stdout}"
        );
        // An out-of-bounds load: non-zero exit, message on stderr naming pc and address.
        let (ok, _, stderr) = run(tier, "tests/ldxb.data", Some("aa"));
        assert!(!ok, "{tier}");
        assert!(
            stderr.contains("instruction 0") && stderr.contains("out-of-bounds load"),
            "{tier}: {stderr}"
        );
    }
    // A program that loops forever stops with a budget error on every tier.
    let forever = std::env::temp_dir().join(format!("patchjit-forever-{}.s", std::process::id()));
    std::fs::write(&forever, "mov %r0, 0\nloop:\nadd %r0, 1\nja loop\n").unwrap();
    for tier in Tier::ALL.iter().map(|t| t.name()) {
        let out = bpf()
            .args(["run", "--tier", tier, "--budget", "100000"])
            .arg(&forever)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{tier}");
        assert!(
            stderr.contains("instruction 2") && stderr.contains("budget exhausted"),
            "{tier}: {stderr}"
        );
    }
    std::fs::remove_file(&forever).unwrap();
}

#[test]
fn oversized_and_endless_files_are_refused() {
    let out = bpf().args(["run", "/dev/zero"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/dev/zero") && stderr.contains("larger than"),
        "{stderr}"
    );
    let out = bpf()
        .args(["run", "--mem", "/dev/zero"])
        .arg(suite("tests/ldxb.data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_one_line() {
    // `conformance ... | head -1`: the reader is gone before the first line (the whole report
    // would fit in a pipe's buffer, so closing later might never be noticed).
    let mut child = bpf()
        .arg("conformance")
        .arg(suite("tests"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = std::fs::File::create("/dev/full").unwrap();
    let out = bpf()
        .arg("conformance")
        .arg(suite("tests"))
        .stdout(full)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("No space left"), "{stderr}");
}
