//! The `.wast` runner reports what fails, where: a wrong result, a missing trap, an accepted
//! invalid module, a link that should fail, NaN patterns.

use std::path::Path;

use patchjit_wasm::runner::{run_script, Report};
use patchjit_wasm::tier::Tier;

fn run(script: &str) -> Vec<Report> {
    Tier::ALL
        .iter()
        .map(|&t| run_script(script, Path::new("inline.wast"), t).expect("script parses"))
        .collect()
}

const MODULE: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "payload") (result f32) (f32.add (f32.const nan:0x200000) (f32.const 1)))
  (func (export "trap") (unreachable)))
"#;

#[test]
fn passing_checks_are_counted() {
    let script = format!(
        "{MODULE}
(assert_return (invoke \"add\" (i32.const 2) (i32.const 3)) (i32.const 5))
(assert_return (invoke \"nan\") (f32.const nan:canonical))
(assert_return (invoke \"nan\") (f32.const nan:arithmetic))
(assert_return (invoke \"payload\") (f32.const nan:arithmetic))
(assert_trap (invoke \"trap\") \"unreachable\")
(assert_invalid (module (func (result i32))) \"type mismatch\")
(assert_malformed (module quote \"(func (i32.bogus))\") \"unknown operator\")
(assert_unlinkable (module (import \"spectest\" \"nope\" (func))) \"unknown import\")
(assert_unlinkable (module (import \"spectest\" \"print_i32\" (func (param i64)))) \"incompatible import type\")
"
    );
    for report in run(&script) {
        assert_eq!(report.failures, []);
        assert_eq!(report.passed, 10);
    }
}

#[test]
fn failing_checks_name_their_line_and_what_differed() {
    let script = format!(
        "{MODULE}
(assert_return (invoke \"add\" (i32.const 2) (i32.const 3)) (i32.const 6))
(assert_return (invoke \"payload\") (f32.const nan:canonical))
(assert_trap (invoke \"add\" (i32.const 0) (i32.const 0)) \"unreachable\")
(assert_trap (invoke \"trap\") \"integer overflow\")
(assert_invalid (module (func (result i32) (i32.const 0))) \"type mismatch\")
(assert_unlinkable (module (import \"spectest\" \"print_i32\" (func (param i32)))) \"unknown import\")
(assert_exhaustion (invoke \"add\" (i32.const 0) (i32.const 0)) \"call stack exhausted\")
"
    );
    // The script is MODULE, a blank line, then the assertions.
    let first = MODULE.lines().count() + 2;
    for report in run(&script) {
        assert_eq!(report.passed, 1, "only the module itself");
        let lines: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
        assert_eq!(lines, (first..first + 7).collect::<Vec<_>>());
        let m: Vec<&str> = report.failures.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(m[0], "expected [i32:6], got [i32:5]");
        assert!(
            m[1].starts_with("expected [f32:CanonicalNan], got [f32:NaN"),
            "{}",
            m[1]
        );
        assert_eq!(m[2], "expected trap `unreachable`, got [i32:0]");
        assert!(m[3].starts_with("expected trap `integer overflow`, got trap `unreachable in function 3 `trap` at offset"), "{}", m[3]);
        assert_eq!(m[4], "module was accepted");
        assert_eq!(m[5], "expected link error `unknown import`, module linked");
        assert_eq!(m[6], "expected `call stack exhausted`, got [i32:0]");
    }
}

#[test]
fn registered_instances_link_and_share_state() {
    let script = r#"
(module $a (global (export "g") (mut i32) (i32.const 7))
  (func (export "set") (param i32) (global.set 0 (local.get 0))))
(register "a" $a)
(module $b (global (import "a" "g") (mut i32))
  (func (export "get") (result i32) (global.get 0)))
(invoke $a "set" (i32.const 9))
(assert_return (invoke $b "get") (i32.const 9))
(assert_return (get $a "g") (i32.const 9))
"#;
    for report in run(script) {
        assert_eq!(report.failures, []);
        assert_eq!(report.passed, 6);
    }
}
