//! Behaviour of the public API beyond single templates: shared trampoline ordinals, group
//! naming, target detection, client values, errors for bad input (never a panic), and speed.

mod common;

use std::time::{Duration, Instant};

use patchjit_stencils::{
    extract, extract_objects, read_object, Error, HoleValue, ObjectSections, Options, PatchKind,
    RelocKind, RelocTarget, Relocation, Section, SectionKind, Symbol, Target,
};

fn no_options() -> Options {
    Options::default()
}

#[test]
fn trampoline_ordinals_are_shared_across_objects() {
    let target = Target::Aarch64UnknownLinuxGnu;
    let calls = common::compile(target, "calls", &[]);
    let holes = common::compile(target, "holes", &[]);
    let extraction = extract_objects(
        &[
            ("a/first.o", &calls),
            ("holes.o", &holes),
            ("b/second.o", &calls),
        ],
        Some(target),
        &no_options(),
    )
    .unwrap();
    let names: Vec<&str> = extraction.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["first", "holes", "second"]);
    assert_eq!(extraction.trampoline_symbols, ["nearby_function"]);
    assert_eq!(extraction.groups[0].trampolines, [0]);
    assert!(extraction.groups[1].trampolines.is_empty());
    assert_eq!(extraction.groups[2].trampolines, [0]);
    let trampoline = |g: usize| {
        extraction.groups[g]
            .code
            .holes
            .iter()
            .filter(|h| h.patch == PatchKind::Aarch64Trampoline)
            .map(|h| (h.offset, h.addend, h.symbol.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(trampoline(0), [(0x40, 0, None)]);
    assert_eq!(trampoline(2), [(0x40, 0, None)]);
}

#[test]
fn mach_o_trampolines_follow_descending_relocation_order() {
    let target = Target::Aarch64AppleDarwin;
    let calls = common::compile(target, "calls", &[]);
    let extraction = extract_objects(&[("calls.o", &calls)], Some(target), &no_options()).unwrap();
    assert_eq!(
        extraction.trampoline_symbols,
        ["nearby_function", "external_function"]
    );
    assert_eq!(extraction.groups[0].trampolines, [0, 1]);
}

#[test]
fn targets_are_detected_from_the_header() {
    for target in Target::ALL {
        let bytes = common::compile(target, "calls", &[]);
        let given = extract_objects(&[("c.o", &bytes)], Some(target), &no_options()).unwrap();
        let detected = extract_objects(&[("c.o", &bytes)], None, &no_options()).unwrap();
        assert_eq!(given, detected, "{target}");
        let canonical = Target::from_triple(target.triple()).unwrap();
        assert_eq!(read_object("c.o", &bytes, None).unwrap().target, canonical);
    }
}

#[test]
fn a_wrong_target_is_refused() {
    let bytes = common::compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    let error = read_object("c.o", &bytes, Some(Target::Aarch64UnknownLinuxGnu)).unwrap_err();
    assert!(matches!(error, Error::Invalid { .. }), "{error}");
}

#[test]
fn unknown_jit_symbols_are_external_without_custom_values() {
    let target = Target::X86_64UnknownLinuxGnu;
    let bytes = common::compile(target, "holes", &[]);
    let extraction = extract_objects(&[("holes.o", &bytes)], Some(target), &no_options()).unwrap();
    let hole = extraction.groups[0]
        .code
        .holes
        .iter()
        .find(|h| h.offset == 0x4d)
        .unwrap();
    assert_eq!(hole.value, HoleValue::Zero);
    assert_eq!(hole.symbol.as_deref(), Some("_JIT_COUNTER"));
    let with = Options {
        custom_values: vec!["COUNTER".to_string()],
        ..Default::default()
    };
    let extraction = extract_objects(&[("holes.o", &bytes)], Some(target), &with).unwrap();
    let hole = extraction.groups[0]
        .code
        .holes
        .iter()
        .find(|h| h.offset == 0x4d)
        .unwrap();
    assert_eq!(hole.value, HoleValue::Custom("COUNTER".to_string()));
    assert_eq!(hole.symbol, None);
}

#[test]
fn bss_becomes_zero_bytes() {
    let target = Target::X86_64UnknownLinuxGnu;
    let bytes = common::compile(target, "multi", &["-ffunction-sections", "-fdata-sections"]);
    let object = read_object("multi.o", &bytes, Some(target)).unwrap();
    let bss = object
        .sections
        .iter()
        .find(|s| s.name == ".lbss.second.calls")
        .unwrap();
    assert_eq!(
        (bss.kind, bss.bytes.as_slice()),
        (SectionKind::Data, &[0u8; 8][..])
    );
}

#[test]
fn an_unsupported_relocation_names_file_section_offset_and_type() {
    let target = Target::X86_64UnknownLinuxGnu;
    // The small code model gives R_X86_64_32S, which holds only narrow values.
    let bytes = common::compile(target, "bad_reloc", &["-mcmodel=small"]);
    let error = extract_objects(&[("dir/bad.o", &bytes)], Some(target), &no_options()).unwrap_err();
    assert_eq!(
        error,
        Error::UnsupportedRelocation {
            file: "dir/bad.o".to_string(),
            section: ".text".to_string(),
            offset: 3,
            kind: "R_X86_64_32S to table (an absolute field of at most 32 bits, for narrow values only)"
                .to_string(),
        }
    );
}

#[test]
fn mach_o_functions_are_split_at_their_symbols() {
    for target in [Target::X86_64AppleDarwin, Target::Aarch64AppleDarwin] {
        let bytes = common::compile(target, "multi", &[]);
        let extraction =
            extract_objects(&[("multi.o", &bytes)], Some(target), &no_options()).unwrap();
        let names: Vec<&str> = extraction.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["first", "second", "third"], "{target}");
    }
}

#[test]
fn functions_without_entry_sharing_a_section_are_refused() {
    // ELF without -ffunction-sections: `first`, `second` and `third` share `.text`.
    let target = Target::X86_64UnknownLinuxGnu;
    let bytes = common::compile(target, "multi", &[]);
    let error = extract_objects(&[("multi.o", &bytes)], Some(target), &no_options()).unwrap_err();
    let Error::Invalid { message, .. } = &error else {
        panic!("{error}");
    };
    assert!(message.contains("share a code section"), "{message}");
}

#[test]
fn mach_o_code_addressed_by_section_cannot_be_split() {
    let target = Target::X86_64AppleDarwin;
    let mut object = synthetic(&[0xc3c3c3c3, 0xc3c3c3c3], 0, vec![], target);
    let text = &mut object.sections[0];
    text.symbols[0].name = "one".to_string();
    text.symbols.push(Symbol {
        name: "two".to_string(),
        value: 4,
        global: true,
        function: true,
    });
    text.relocations.push(Relocation {
        offset: 0,
        kind: RelocKind::X86_64_RELOC_SIGNED,
        target: RelocTarget::Section(1),
        addend: 0,
    });
    let error = extract("split.o", &[object], &no_options()).unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { message, .. } if message.contains("by address")),
        "{error}"
    );
}

#[test]
fn garbage_and_truncated_objects_are_errors_not_panics() {
    for bytes in [
        &b""[..],
        b"\x7fELF",
        b"not an object at all",
        &[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1],
    ] {
        assert!(matches!(
            read_object("g.o", bytes, None),
            Err(Error::Malformed { .. } | Error::Unsupported { .. })
        ));
    }
    for target in Target::ALL {
        let bytes = common::compile(target, "calls", &[]);
        for len in (0..bytes.len()).step_by(7) {
            let _ = extract_objects(&[("t.o", &bytes[..len])], Some(target), &no_options());
        }
        // Corrupt single bytes all over the file (headers, tables, relocations).
        let mut corrupt = bytes.clone();
        for i in (0..corrupt.len()).step_by(3) {
            let saved = corrupt[i];
            corrupt[i] = saved ^ 0xa5;
            let _ = extract_objects(&[("t.o", &corrupt)], Some(target), &no_options());
            corrupt[i] = saved;
        }
    }
}

/// A hand-made ELF AArch64 object: one code section holding `words`, with `_JIT_ENTRY` at
/// `entry` and the given relocations.
fn synthetic(
    words: &[u32],
    entry: u64,
    relocations: Vec<Relocation>,
    target: Target,
) -> ObjectSections {
    ObjectSections {
        target,
        sections: vec![Section {
            index: 1,
            name: ".text".to_string(),
            kind: SectionKind::Code,
            address: 0,
            align: 4,
            bytes: words.iter().flat_map(|w| w.to_le_bytes()).collect(),
            symbols: vec![Symbol {
                name: "_JIT_ENTRY".to_string(),
                value: entry,
                global: true,
                function: true,
            }],
            relocations,
        }],
    }
}

fn reloc(offset: u64, kind: RelocKind, symbol: &str) -> Relocation {
    Relocation {
        offset,
        kind,
        target: RelocTarget::Symbol(symbol.to_string()),
        addend: 0,
    }
}

#[test]
fn the_entry_must_start_the_code() {
    let object = synthetic(
        &[0xd503201f, 0xd65f03c0],
        4,
        vec![],
        Target::Aarch64UnknownLinuxGnu,
    );
    let error = extract("entry.o", &[object], &no_options()).unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { group: Some(g), .. } if g == "entry"),
        "{error}"
    );
}

#[test]
fn pairs_fold_only_when_registers_agree() {
    let adrp_x8 = 0x90000008; // adrp x8, 0
    let ldr_x8_x8 = 0xf9400108; // ldr x8, [x8]
    let ldr_x9_x8 = 0xf9400109; // ldr x9, [x8]
    let ret = 0xd65f03c0;
    let target = Target::Aarch64UnknownLinuxGnu;
    for (ldr, folded) in [(ldr_x8_x8, true), (ldr_x9_x8, false)] {
        let object = synthetic(
            &[adrp_x8, ldr, ret, ret],
            0,
            vec![
                reloc(0, RelocKind::R_AARCH64_ADR_GOT_PAGE, "x"),
                reloc(4, RelocKind::R_AARCH64_LD64_GOT_LO12_NC, "x"),
            ],
            target,
        );
        let extraction = extract("pair.o", &[object], &no_options()).unwrap();
        let patches: Vec<(u64, PatchKind)> = extraction.groups[0]
            .code
            .holes
            .iter()
            .map(|h| (h.offset, h.patch))
            .collect();
        if folded {
            assert_eq!(patches, [(0, PatchKind::Aarch64Pair33rx)]);
        } else {
            assert_eq!(
                patches,
                [
                    (0, PatchKind::Aarch64Page21rx),
                    (4, PatchKind::Aarch64Lo12x)
                ]
            );
        }
    }
}

#[test]
fn only_external_elf_and_mach_o_branches_get_trampolines() {
    let bl = 0x94000000;
    let ret = 0xd65f03c0;
    let cases = [
        (
            Target::Aarch64UnknownLinuxGnu,
            RelocKind::R_AARCH64_CALL26,
            "far",
            true,
        ),
        // A branch to a symbol defined in the group resolves to the code instead.
        (
            Target::Aarch64UnknownLinuxGnu,
            RelocKind::R_AARCH64_CALL26,
            "_JIT_ENTRY",
            false,
        ),
        (
            Target::Aarch64AppleDarwin,
            RelocKind::ARM64_RELOC_BRANCH26,
            "far",
            true,
        ),
        // CPython 3.14 never gives Windows branches trampolines.
        (
            Target::Aarch64PcWindowsMsvc,
            RelocKind::IMAGE_REL_ARM64_BRANCH26,
            "far",
            false,
        ),
    ];
    for (target, kind, symbol, trampoline) in cases {
        let object = synthetic(&[bl, ret], 0, vec![reloc(0, kind, symbol)], target);
        let extraction = extract("b.o", &[object], &no_options()).unwrap();
        let hole = &extraction.groups[0].code.holes[0];
        assert_eq!(
            hole.patch == PatchKind::Aarch64Trampoline,
            trampoline,
            "{target} {symbol}"
        );
        assert_eq!(extraction.trampoline_symbols.len(), usize::from(trampoline));
    }
}

#[test]
fn extraction_takes_milliseconds() {
    let mut objects = Vec::new();
    for target in Target::ALL {
        for template in ["holes", "calls"] {
            objects.push((target, common::compile(target, template, &[])));
        }
    }
    let start = Instant::now();
    for (target, bytes) in &objects {
        extract_objects(&[("t.o", bytes)], Some(*target), &no_options()).unwrap();
    }
    let per_object = start.elapsed() / objects.len() as u32;
    assert!(
        per_object < Duration::from_millis(20),
        "{per_object:?} per object"
    );
}

#[test]
fn i686_imports_become_got_slots() {
    // CPython passes -DPy_NO_ENABLE_SHARED on i686; without it every external is dllimport'ed
    // (`__imp__name`): the prefix after `__imp_` is stripped and the reference becomes a slot.
    let target = Target::I686PcWindowsMsvc;
    let bytes = common::compile(target, "calls", &["-UPy_NO_ENABLE_SHARED"]);
    let extraction = extract_objects(&[("calls.o", &bytes)], Some(target), &no_options()).unwrap();
    assert_eq!(
        common::render(&extraction),
        "\
group calls code=77 data=40 sections=5 got=8 trampolines=[]
  code 0x10 IMAGE_REL_I386_DIR32 DATA +0x8 patch_32
  code 0x17 IMAGE_REL_I386_DIR32 DATA patch_32
  code 0x20 IMAGE_REL_I386_DIR32 DATA +0x10 patch_32
  code 0x2e IMAGE_REL_I386_DIR32 DATA +0x18 patch_32
  code 0x49 IMAGE_REL_I386_DIR32 DATA +0x20 patch_32
  data 0x8 R_X86_64_64 ZERO &external_counter patch_64
  data 0x10 R_X86_64_64 ZERO &external_function patch_64
  data 0x18 R_X86_64_64 ZERO &nearby_function patch_64
  data 0x20 R_X86_64_64 CONTINUE patch_64
"
    );
}

#[test]
fn group_names_must_be_unique_and_targets_single() {
    let target = Target::X86_64UnknownLinuxGnu;
    let calls = common::compile(target, "calls", &[]);
    let error = extract_objects(
        &[("a/calls.o", &calls), ("b/calls.o", &calls)],
        None,
        &no_options(),
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { group: Some(g), .. } if g == "calls"),
        "{error}"
    );
    let other = common::compile(Target::Aarch64UnknownLinuxGnu, "calls", &[]);
    let error =
        extract_objects(&[("x.o", &calls), ("y.o", &other)], None, &no_options()).unwrap_err();
    assert!(
        matches!(&error, Error::Invalid { file, .. } if file == "y.o"),
        "{error}"
    );
}

#[test]
fn entry_objects_with_more_global_functions_stay_one_group() {
    // `_JIT_ENTRY` and another global function in one section: one group, as in CPython; the
    // call between them resolves inside the group.
    let bl_4 = 0x94000000; // bl extra (relocated)
    let ret = 0xd65f03c0;
    let mut object = synthetic(
        &[bl_4, ret],
        0,
        vec![reloc(0, RelocKind::R_AARCH64_CALL26, "extra")],
        Target::Aarch64UnknownLinuxGnu,
    );
    object.sections[0].symbols.push(Symbol {
        name: "extra".to_string(),
        value: 4,
        global: true,
        function: true,
    });
    let extraction = extract("dir/op.o", &[object], &no_options()).unwrap();
    let [group] = extraction.groups.as_slice() else {
        panic!("one group expected");
    };
    assert_eq!(group.name, "op");
    let hole = &group.code.holes[0];
    assert_eq!(
        (hole.value.clone(), hole.addend, hole.patch),
        (HoleValue::Code, 4, PatchKind::Aarch64Branch26r)
    );
    assert!(extraction.trampoline_symbols.is_empty());
}

#[test]
fn relocations_past_the_section_are_refused() {
    let target = Target::X86_64UnknownLinuxGnu;
    for offset in [6, u64::MAX - 2] {
        let object = synthetic(
            &[0xc3c3c3c3, 0xc3c3c3c3],
            0,
            vec![reloc(offset, RelocKind::R_X86_64_64, "x")],
            target,
        );
        let error = extract("past.o", &[object], &no_options()).unwrap_err();
        assert!(matches!(error, Error::Invalid { .. }), "{error}");
    }
}

#[test]
fn unwind_tables_are_refused_with_a_hint() {
    let target = Target::X86_64UnknownLinuxGnu;
    let bytes = common::compile(target, "calls", &["-fasynchronous-unwind-tables"]);
    let error = read_object("calls.o", &bytes, Some(target)).unwrap_err();
    assert!(
        matches!(&error, Error::Unsupported { message, .. } if message.contains(".eh_frame") && message.contains("-fno-asynchronous-unwind-tables")),
        "{error}"
    );
}
