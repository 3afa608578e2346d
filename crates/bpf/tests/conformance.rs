//! Runs the shared bpf_conformance data: every positive test must pass on every tier,
//! no negative test may pass, and every program round-trips through the disassembler.

use patchjit_bpf::asm::assemble;
use patchjit_bpf::conformance::{parse_test, run_dir, test_files, Outcome, Tier};
use patchjit_bpf::disasm::disassemble;

use patchjit_test_support::bpf_conformance as suite;

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
