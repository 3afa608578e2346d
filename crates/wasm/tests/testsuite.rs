//! The WebAssembly 1.0 spec suite (`../shared/wasm-testsuite`) on every tier: every
//! directive of every script passes.

use patchjit_test_support::wasm_testsuite;
use patchjit_wasm::runner::run_file;
use patchjit_wasm::tier::Tier;

/// Directives in the snapshot's 74 scripts (it is fixed data): each module definition,
/// registration, invocation and assertion is one check.
const DIRECTIVES: usize = 19_543;

#[test]
fn every_directive_of_the_spec_suite_passes_on_every_tier() {
    let dir = wasm_testsuite();
    let mut scripts: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 74, "the 1.0 snapshot has 74 scripts");
    for &tier in Tier::ALL {
        let mut passed = 0;
        let mut failures = Vec::new();
        for script in &scripts {
            let report = run_file(script, tier).unwrap_or_else(|e| panic!("{e}"));
            assert!(report.passed > 0, "{}: nothing ran", script.display());
            passed += report.passed;
            let name = script.file_name().unwrap().to_string_lossy().into_owned();
            failures.extend(
                report
                    .failures
                    .into_iter()
                    .map(|f| format!("{name}:{}: {}", f.line, f.message)),
            );
        }
        assert!(
            failures.is_empty(),
            "{}: {} failed:\n{}",
            tier.name(),
            failures.len(),
            failures.join("\n")
        );
        assert_eq!(passed, DIRECTIVES, "{}: every directive ran", tier.name());
    }
}
