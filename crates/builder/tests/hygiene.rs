//! One test per hygiene rule: a template that breaks it, and the message it gets.

mod support;

use patchjit_build::{find_clang, Error, Rule, Target};
use support::{builder, scratch};

fn violations(result: Result<patchjit_build::Report, Error>) -> (Vec<Rule>, String) {
    match result {
        Err(Error::Hygiene(v)) => {
            let message = Error::Hygiene(v.clone()).to_string();
            (v.into_iter().map(|v| v.rule).collect(), message)
        }
        Err(other) => panic!("expected a hygiene error, got: {other}"),
        Ok(_) => panic!("expected a hygiene error, the build succeeded"),
    }
}

#[test]
fn clang_is_found() {
    let clang = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    assert!(clang.major >= 19, "{clang:?}");
}

#[test]
fn disallowed_symbol_is_named() {
    let dir = scratch("symbols");
    let result = builder(&["helper", "forbidden"], &dir)
        .allow_symbols(["allowed_helper"])
        .build();
    let (rules, message) = violations(result);
    assert_eq!(rules, [Rule::DisallowedSymbol("forbidden_helper".into())]);
    assert!(
        message.starts_with("stencil forbidden: references external symbol `forbidden_helper`"),
        "{message}"
    );
    assert!(message.contains("allow_symbols"), "{message}");
    // Allowed, it builds.
    builder(&["helper", "forbidden"], &dir)
        .allow_symbols(["allowed_helper", "forbidden_helper"])
        .build()
        .unwrap();
}

#[test]
fn calling_the_continuation_is_refused_on_both_linux_targets() {
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
    ] {
        let dir = scratch("call-continue");
        let (rules, message) = violations(builder(&["call_continue"], &dir).target(target).build());
        assert_eq!(rules, [Rule::CallsContinuation], "{target}");
        assert!(
            message.contains("stencil call_continue: calls `_JIT_CONTINUE`"),
            "{message}"
        );
        assert!(message.contains("PATCHJIT_CONTINUE()"), "{message}");
    }
}

#[test]
fn shims_may_call_the_continuation() {
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
    ] {
        let dir = scratch("shim");
        let (rules, _) = violations(builder(&["shim"], &dir).target(target).build());
        assert_eq!(rules, [Rule::CallsContinuation], "{target}");
        builder(&["shim"], &dir)
            .target(target)
            .shims(["shim"])
            .build()
            .unwrap();
    }
}

#[test]
fn jump_tables_are_refused() {
    let dir = scratch("jump-table");
    let (rules, message) = violations(builder(&["jump_table"], &dir).flag("-fjump-tables").build());
    assert!(rules.contains(&Rule::JumpTable), "{rules:?}");
    assert!(
        message.contains("stencil jump_table: its data holds addresses of its own code"),
        "{message}"
    );
    // With the default -fno-jump-tables the same template is fine.
    builder(&["jump_table"], &dir).build().unwrap();
}

#[test]
fn stack_protector_is_refused() {
    let dir = scratch("stack-protector");
    let (rules, message) = violations(
        builder(&["stack_protector"], &dir)
            .flag("-fstack-protector-all")
            .build(),
    );
    assert!(
        rules
            .iter()
            .any(|r| matches!(r, Rule::StackProtector(s) if s.starts_with("__stack_chk"))),
        "{rules:?}"
    );
    assert!(message.contains("-fno-stack-protector"), "{message}");
}

#[test]
fn thread_locals_are_refused_on_both_linux_targets() {
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
    ] {
        let dir = scratch("tls");
        let (rules, message) = violations(builder(&["thread_local"], &dir).target(target).build());
        assert!(
            matches!(rules[..], [Rule::ThreadLocal(_)]),
            "{target}: {rules:?}"
        );
        assert!(
            message.starts_with("stencil thread_local: uses thread-local storage"),
            "{message}"
        );
    }
}

#[test]
fn code_size_limit() {
    let dir = scratch("big");
    let (rules, message) = violations(builder(&["big"], &dir).max_code_size(64).build());
    assert!(
        matches!(rules[..], [Rule::TooLarge { limit: 64, size }] if size > 64),
        "{rules:?}"
    );
    assert!(
        message.contains("stencil big:") && message.contains("exceed the limit of 64"),
        "{message}"
    );
    builder(&["big"], &dir).build().unwrap();
}

#[test]
fn unsupported_relocation_names_the_template() {
    let dir = scratch("unsupported");
    let error = builder(&["unsupported"], &dir)
        .flag("-mcmodel=small")
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::Extraction { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("stencil unsupported: "), "{message}");
    assert!(message.contains("unsupported.c"), "{message}");
    assert!(message.contains("code-model"), "{message}");
    assert!(message.contains("R_X86_64_32S"), "{message}");
}

#[test]
fn compile_errors_show_clang_output() {
    let dir = scratch("compile-error");
    let error = builder(&["add"], &dir)
        .define("PATCHJIT_RETURN", Some("struct nonexistent"))
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("clang failed on") && message.contains("add.c"),
        "{message}"
    );
}

#[test]
fn a_folding_narrow_value_in_a_zero_extending_field_is_refused() {
    let dir = scratch("narrow-extension");
    let (rules, message) = violations(builder(&["zero_extended_i32"], &dir).build());
    assert_eq!(rules, [Rule::NarrowExtension("OPERAND0_I32".into())]);
    assert!(
        message.starts_with("stencil zero_extended_i32: clang put the narrow value OPERAND0_I32 in a zero-extending field"),
        "{message}"
    );
    // Where its target reads the value from a slot, the same template builds.
    builder(&["zero_extended_i32"], &dir)
        .target(Target::Aarch64AppleDarwin)
        .build()
        .unwrap();
}
