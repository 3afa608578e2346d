//! The `llvm-readobj` JSON reader against the object reader: for all seven targets, templates are
//! compiled with clang 19 at test time, `llvm-readobj-19` prints them as CPython 3.14 asks for,
//! and both readers must give the same `ObjectSections` and the same stencil groups. Malformed,
//! truncated or mismatched JSON must be an error, never a panic.

mod common;

use std::path::{Path, PathBuf};

use patchjit_stencils::{
    extract, read_object, read_readobj_json, readobj_json_target, Error, Format, ObjectSections,
    Options, RelocKind, Target,
};

fn own_templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates_readobj")
}

fn options() -> Options {
    Options {
        custom_values: vec!["COUNTER".to_string()],
        ..Default::default()
    }
}

/// Both readers on one object: equal sections, and equal extraction group for group (or, unless
/// `must_extract`, the same error when grouping refuses the object). Returns the sections.
fn agree(target: Target, object: &Path, must_extract: bool) -> ObjectSections {
    let label = format!("{} for {target}", object.display());
    let bytes = std::fs::read(object).unwrap();
    let json = patchjit_test_support::readobj_json(object);
    let from_object = read_object("t.o", &bytes, Some(target))
        .unwrap_or_else(|e| panic!("{label}: object reader: {e}"));
    let from_json = read_readobj_json("t.o", &json, target)
        .unwrap_or_else(|e| panic!("{label}: JSON reader: {e}"));
    assert_eq!(from_json, from_object, "{label}: ObjectSections differ");

    let a = extract("t.o", std::slice::from_ref(&from_object), &options());
    let b = extract("t.o", std::slice::from_ref(&from_json), &options());
    match (a, b) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.groups.len(), b.groups.len(), "{label}: group count");
            for (ga, gb) in a.groups.iter().zip(&b.groups) {
                assert_eq!(ga, gb, "{label}: group {} differs", ga.name);
            }
            assert_eq!(a.trampoline_symbols, b.trampoline_symbols, "{label}");
        }
        (Err(a), Err(b)) => {
            assert!(!must_extract, "{label}: extraction failed: {a}");
            assert_eq!(a, b, "{label}: different extraction errors");
        }
        (a, b) => {
            panic!("{label}: one reader's sections extract, the other's do not: {a:?} / {b:?}")
        }
    }
    from_json
}

fn check_target(target: Target) {
    let shared = common::templates();
    let own = own_templates();
    let sections = ["-ffunction-sections", "-fdata-sections"];
    // (source, extra flags, must the groups extract?)
    let mut sources: Vec<(PathBuf, &[&str], bool)> = vec![
        (shared.join("empty.c"), &[], true),
        (shared.join("holes.c"), &[], true),
        (shared.join("calls.c"), &[], true),
        (shared.join("multi.c"), &sections, true),
        // One .text/.data/.bss for all: several symbols per section. Grouping refuses two
        // global functions in one section on ELF and COFF (the same error from both readers).
        (shared.join("multi.c"), &[], false),
        // Grouping refuses it on Mach-O, where __bss is listed before __cstring but placed after.
        (own.join("data.c"), &[], target.format() != Format::MachO),
        (own.join("cold_section.c"), &[], true),
    ];
    if target == Target::Aarch64AppleDarwin {
        sources.push((own.join("addend_pair.s"), &[], true));
    }
    for (source, extra, must_extract) in sources {
        let object = patchjit_test_support::compile(target, &source, extra);
        let sections = agree(target, object.path(), must_extract);
        assert!(
            !sections.sections.is_empty(),
            "{}: no sections read",
            object.path().display()
        );
    }
}

#[test]
fn x86_64_unknown_linux_gnu() {
    check_target(Target::X86_64UnknownLinuxGnu);
}

#[test]
fn aarch64_unknown_linux_gnu() {
    check_target(Target::Aarch64UnknownLinuxGnu);
}

#[test]
fn x86_64_apple_darwin() {
    check_target(Target::X86_64AppleDarwin);
}

#[test]
fn aarch64_apple_darwin() {
    check_target(Target::Aarch64AppleDarwin);
}

#[test]
fn x86_64_pc_windows_msvc() {
    check_target(Target::X86_64PcWindowsMsvc);
}

#[test]
fn aarch64_pc_windows_msvc() {
    check_target(Target::Aarch64PcWindowsMsvc);
}

#[test]
fn i686_pc_windows_msvc() {
    check_target(Target::I686PcWindowsMsvc);
}

/// The paired `ARM64_RELOC_ADDEND` entries become the addends of the relocations after them,
/// and the Mach-O `Extern` lines the binding of the symbols (checked beyond reader agreement).
#[test]
fn macho_addend_pairs_and_extern_lines() {
    let target = Target::Aarch64AppleDarwin;
    let object =
        patchjit_test_support::compile(target, &own_templates().join("addend_pair.s"), &[]);
    let sections = read_readobj_json(
        "t.o",
        &patchjit_test_support::readobj_json(object.path()),
        target,
    )
    .unwrap();
    let text = &sections.sections[0];
    let addends: Vec<(u64, &str, i64)> = text
        .relocations
        .iter()
        .map(|r| (r.offset, r.kind.name(), r.addend))
        .collect();
    assert_eq!(
        addends,
        [
            (16, "ARM64_RELOC_BRANCH26", 0),
            (12, "ARM64_RELOC_PAGEOFF12", 16),
            (8, "ARM64_RELOC_PAGE21", 16),
            (4, "ARM64_RELOC_PAGEOFF12", 1000),
            (0, "ARM64_RELOC_PAGE21", 1000),
        ]
    );
    let entry = text
        .symbols
        .iter()
        .find(|s| s.name == "_JIT_ENTRY")
        .unwrap();
    assert!(entry.global && entry.function);
}

/// A hidden (`PrivateExtern` + `Extern`) definition stays global; a static one is local.
#[test]
fn macho_private_extern_is_global() {
    let target = Target::X86_64AppleDarwin;
    let object = patchjit_test_support::compile(target, &own_templates().join("data.c"), &[]);
    let sections = read_readobj_json(
        "t.o",
        &patchjit_test_support::readobj_json(object.path()),
        target,
    )
    .unwrap();
    let symbol = |name: &str| {
        sections
            .sections
            .iter()
            .flat_map(|s| &s.symbols)
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
            .clone()
    };
    assert!(symbol("hidden_total").global);
    assert!(!symbol("counts").global);
}

/// ELF addends are printed as unsigned 64-bit numbers; they must come back negative.
#[test]
fn elf_unsigned_addends_are_signed() {
    let target = Target::X86_64UnknownLinuxGnu;
    let object = common::compile_to(target, "calls", &[]);
    let json = patchjit_test_support::readobj_json(object.path());
    assert!(json.contains("\"Addend\":18446744073709551612"));
    let sections = read_readobj_json("t.o", &json, target).unwrap();
    assert!(sections
        .sections
        .iter()
        .flat_map(|s| &s.relocations)
        .any(|r| r.addend == -4));
}

fn holes_json(target: Target) -> String {
    patchjit_test_support::readobj_json(common::compile_to(target, "holes", &[]).path())
}

#[test]
fn output_for_another_target_is_refused() {
    let json = holes_json(Target::X86_64UnknownLinuxGnu);
    for wrong in [
        Target::Aarch64UnknownLinuxGnu,
        Target::X86_64AppleDarwin,
        Target::X86_64PcWindowsMsvc,
    ] {
        let error = read_readobj_json("t.o", &json, wrong).unwrap_err();
        assert!(
            matches!(&error, Error::Invalid { message, .. } if message.contains(wrong.triple())),
            "{wrong}: {error}"
        );
    }
}

#[test]
fn the_summary_names_the_target() {
    for target in Target::ALL {
        assert_eq!(
            readobj_json_target("t.json", &holes_json(target)).unwrap(),
            target
        );
    }
    assert!(readobj_json_target("t.json", "[{\"Section\": {}}]").is_err());
    let elf32 =
        r#"[{"FileSummary":{"File":"a.o","Format":"elf32-i386","Arch":"i386"},"Sections":[]}]"#;
    assert!(matches!(
        readobj_json_target("t.json", elf32),
        Err(Error::Unsupported { .. })
    ));
}

/// CPython's cut (the bare array of sections) is accepted too.
#[test]
fn the_bare_section_array_is_accepted() {
    let target = Target::Aarch64UnknownLinuxGnu;
    let json = holes_json(target);
    let start = json.find("\"Sections\":").unwrap() + "\"Sections\":".len();
    let end = json[..json.len() - 1].rfind(']').unwrap() + 1;
    let cut = &json[start..end];
    assert!(cut.starts_with('[') && cut.ends_with(']'));
    assert_eq!(
        read_readobj_json("t.o", cut, target).unwrap(),
        read_readobj_json("t.o", &json, target).unwrap()
    );
}

#[test]
fn malformed_json_is_an_error() {
    let target = Target::X86_64UnknownLinuxGnu;
    for bad in [
        "",
        "[",
        "not json",
        "[{\"Section\": 3}]",
        "[{\"Section\": {\"Index\": 1}}]",
        "{\"Sections\": [{\"Section\": {\"Index\": -1}}]}",
        "{\"Sections\": {}}",
    ] {
        let error = read_readobj_json("bad.json", bad, target).unwrap_err();
        assert!(
            matches!(error, Error::Malformed { ref file, .. } if file == "bad.json"),
            "{bad:?}: {error}"
        );
    }
}

/// Every prefix of real output, for every format, is an error or (for the few cuts that leave
/// a complete array) a result — never a panic.
#[test]
fn truncated_output_never_panics() {
    for target in [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64AppleDarwin,
        Target::I686PcWindowsMsvc,
    ] {
        let json = holes_json(target);
        let step = (json.len() / 200).max(1);
        for cut in (0..json.len()).step_by(step) {
            if json.is_char_boundary(cut) {
                let _ = read_readobj_json("cut.json", &json[..cut], target);
            }
        }
    }
}

/// Both readers read 32-bit absolute relocations alike; grouping takes them for narrow values
/// (`R_X86_64_32` holes) and refuses one that addresses anything else, naming section, offset
/// and type, whichever reader read the object.
#[test]
fn thirty_two_bit_absolute_relocations_are_for_narrow_values_only() {
    for (target, kind) in [
        (Target::X86_64UnknownLinuxGnu, RelocKind::R_X86_64_32),
        (
            Target::Aarch64UnknownLinuxGnu,
            RelocKind::R_AARCH64_MOVW_UABS_G0,
        ),
    ] {
        let source = own_templates().join("narrow.c");
        let narrow = patchjit_test_support::compile(target, &source, &[]);
        let holes = extract("t.o", &[agree(target, narrow.path(), true)], &options())
            .unwrap()
            .groups
            .remove(0)
            .code
            .holes;
        let mut kinds: Vec<_> = holes.iter().map(|h| (h.kind, h.value.name())).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [(kind, "OPARG_U16"), (kind, "OPERAND0_S32")],
            "{target}"
        );
    }

    let target = Target::X86_64UnknownLinuxGnu;

    let object = common::compile_to(target, "bad_reloc", &["-mcmodel=small", "-fno-pic"]);
    let sections = agree(target, object.path(), false);
    match extract("bad.o", &[sections], &options()).unwrap_err() {
        Error::UnsupportedRelocation { kind, section, .. } => {
            assert_eq!(
                kind,
                "R_X86_64_32S to table (an absolute field of at most 32 bits, for narrow values only)"
            );
            assert!(section.starts_with(".text"), "{section}");
        }
        other => panic!("{other}"),
    }
}

/// Both readers on every object of a directory, e.g. CPython's micro-op objects:
/// `PATCHJIT_READOBJ_DIR=DIR PATCHJIT_READOBJ_TARGET=TRIPLE cargo test -p patchjit-stencils
/// --test readobj -- --ignored`.
#[test]
#[ignore]
fn directory_of_objects() {
    let dir = std::env::var("PATCHJIT_READOBJ_DIR").expect("set PATCHJIT_READOBJ_DIR");
    let triple = std::env::var("PATCHJIT_READOBJ_TARGET").expect("set PATCHJIT_READOBJ_TARGET");
    let target = Target::from_triple(&triple).expect("a known target triple");
    let mut objects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .collect();
    objects.sort();
    assert!(!objects.is_empty(), "no .o files in {dir}");
    for object in &objects {
        agree(target, object, true);
    }
    eprintln!("{} objects agree", objects.len());
}
