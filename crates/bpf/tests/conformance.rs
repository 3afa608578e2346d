//! Runs the shared bpf_conformance data: every positive test must pass on every tier,
//! no negative test may pass, and every program round-trips through the disassembler.

use std::path::PathBuf;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::conformance::{parse_test, run_dir, test_files, Outcome, Tier};
use patchjit_bpf::disasm::disassemble;

fn suite(sub: &str) -> PathBuf {
    let root = std::env::var_os("PATCHJIT_BPF_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bpf-conformance")
        });
    root.join(sub)
}

#[test]
fn positive_suite_passes_on_every_tier() {
    for &tier in Tier::ALL {
        let results = run_dir(&suite("tests"), tier).expect("suite directory readable");
        assert_eq!(results.len(), 313, "expected the 313 positive tests");
        let failures: Vec<String> = results
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Fail(why) => Some(format!("{}: {why}", r.name)),
                Outcome::Pass => None,
            })
            .collect();
        assert!(failures.is_empty(), "{}: {failures:#?}", tier.name());
    }
}

#[test]
fn negative_suite_never_passes() {
    for &tier in Tier::ALL {
        let results = run_dir(&suite("negative"), tier).expect("suite directory readable");
        assert_eq!(results.len(), 60, "expected the 60 negative tests");
        let passed: Vec<&str> = results
            .iter()
            .filter(|r| r.outcome == Outcome::Pass)
            .map(|r| r.name.as_str())
            .collect();
        assert!(
            passed.is_empty(),
            "{}: negative tests passed: {passed:?}",
            tier.name()
        );
    }
}

#[test]
fn every_suite_program_round_trips_through_the_disassembler() {
    let mut checked = 0;
    for path in test_files(&suite("tests")).unwrap() {
        let tc = parse_test(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(src) = &tc.asm else { continue };
        let bytes = assemble(src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = disassemble(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let again = assemble(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(again, bytes, "{}:\n{text}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 313);
}

#[test]
fn cli_reports_closing_lines_and_exit_codes() {
    let bin = env!("CARGO_BIN_EXE_patchjit-bpf");
    let out = std::process::Command::new(bin)
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

    let out = std::process::Command::new(bin)
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
    let out = std::process::Command::new(bin)
        .args(["conformance", suite("negative").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn cli_run_prints_r0_and_fails_cleanly() {
    let run = |tier: &str, program: &str, mem: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_patchjit-bpf"));
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
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_patchjit-bpf"))
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
