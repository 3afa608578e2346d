//! Cross-checks extraction against `llvm-readobj-19 --relocs`: every relocation the tool lists in
//! a template object must show up as a hole — at its exact offset for the code section — unless
//! it is accounted for by CPython's rules: the second half of a folded ADRP+LDR pair, or the
//! removed trailing jump to the continuation. GOT relocations must point at a GOT slot that has
//! its own hole.

mod common;

use std::process::Command;

use patchjit_stencils::{
    extract_objects, HoleValue, Options, PatchKind, RelocKind, StencilGroup, Target,
};

/// One relocation as `llvm-readobj` lists it: section name, offset, type name.
struct Listed {
    section: String,
    offset: u64,
    kind: String,
}

fn readobj_relocations(path: &std::path::Path) -> Vec<Listed> {
    let tool = "llvm-readobj-19";
    let output = Command::new(tool)
        .arg("--relocs")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(
        output.status.success(),
        "{tool} failed on {}",
        path.display()
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut section = None;
    let mut listed = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line
            .strip_prefix("Section ")
            .and_then(|l| l.strip_suffix(" {"))
        {
            // `(2) .rela.text` (ELF), `(1) .text` (COFF), `__text` (Mach-O).
            let name = header.rsplit(' ').next().unwrap();
            section = Some(name.strip_prefix(".rela").unwrap_or(name).to_string());
            continue;
        }
        if line == "}" {
            section = None;
            continue;
        }
        let (Some(section), Some(offset)) = (&section, line.strip_prefix("0x")) else {
            continue;
        };
        let mut words = line.split_whitespace();
        let offset = u64::from_str_radix(offset.split_whitespace().next().unwrap(), 16).unwrap();
        let kind = words
            .find(|w| {
                ["R_", "X86_64_RELOC_", "ARM64_RELOC_", "IMAGE_REL_"]
                    .iter()
                    .any(|p| w.starts_with(p))
            })
            .unwrap_or_else(|| panic!("no relocation type in {line:?}"));
        listed.push(Listed {
            section: section.clone(),
            offset,
            kind: kind.to_string(),
        });
    }
    listed
}

fn is_code_section(name: &str) -> bool {
    name == ".text" || name == "__text"
}

/// The relocation at `offset` of the (single, first) code section is accounted for in `group`.
fn accounted_in_code(group: &StencilGroup, offset: u64, kind: RelocKind) -> Result<(), String> {
    if let Some(hole) = group.code.holes.iter().find(|h| h.offset == offset) {
        if hole.kind != kind {
            return Err(format!(
                "hole at {offset:#x} has kind {}, not {kind}",
                hole.kind
            ));
        }
        if hole.value == HoleValue::Data
            && hole.symbol.is_none()
            && is_got_reference(group, hole.addend)
        {
            // A GOT reference: its slot must have a hole of its own.
            let slot_hole = group.data.holes.iter().any(|h| {
                h.offset as usize >= group.got_offset
                    && (h.offset as i64 == hole.addend || h.offset as i64 == hole.addend + 4)
            });
            if !slot_hole {
                return Err(format!("GOT hole at {offset:#x} points at no slot hole"));
            }
        }
        return Ok(());
    }
    let folded = group
        .code
        .holes
        .iter()
        .any(|h| h.offset + 4 == offset && h.patch == PatchKind::Aarch64Pair33rx);
    if folded {
        return Ok(());
    }
    let continue_jump = matches!(
        kind,
        RelocKind::R_X86_64_PLT32
            | RelocKind::X86_64_RELOC_BRANCH
            | RelocKind::IMAGE_REL_AMD64_REL32
            | RelocKind::IMAGE_REL_I386_REL32
            | RelocKind::R_AARCH64_JUMP26
    );
    if continue_jump && offset + 4 >= group.code.body.len() as u64 {
        return Ok(());
    }
    Err(format!("no hole for {kind} at code offset {offset:#x}"))
}

/// Whether a resolved data-relative addend points into the GOT (x86 keeps the −4 PC bias).
fn is_got_reference(group: &StencilGroup, addend: i64) -> bool {
    addend + 4 >= group.got_offset as i64 && (addend as usize) < group.data.body.len()
}

#[test]
fn every_listed_relocation_becomes_a_hole() {
    for target in Target::ALL {
        for template in ["empty", "holes", "calls"] {
            let object = common::compile_to(target, template, &[]);
            let bytes = object.bytes();
            let options = Options {
                custom_values: vec!["COUNTER".to_string()],
                ..Default::default()
            };
            let extraction = extract_objects(&[("t.o", &bytes)], Some(target), &options)
                .unwrap_or_else(|e| panic!("{template}.c for {target}: {e}"));
            let [group] = extraction.groups.as_slice() else {
                panic!("{template}.c for {target}: one group expected");
            };
            let listed = readobj_relocations(object.path());
            assert!(
                template == "empty" || listed.len() >= 3,
                "{template}.c for {target}: too few relocations listed"
            );
            let mut data_kinds = Vec::new();
            for reloc in &listed {
                let kind = RelocKind::from_name(&reloc.kind).unwrap_or_else(|| {
                    panic!("{template}.c for {target}: unexpected {}", reloc.kind)
                });
                if is_code_section(&reloc.section) {
                    if let Err(message) = accounted_in_code(group, reloc.offset, kind) {
                        panic!("{template}.c for {target}: {message}");
                    }
                } else {
                    data_kinds.push(kind);
                }
            }
            let mut section_data_holes: Vec<RelocKind> = group
                .data
                .holes
                .iter()
                .filter(|h| (h.offset as usize) < group.got_offset)
                .map(|h| h.kind)
                .collect();
            data_kinds.sort();
            section_data_holes.sort();
            assert_eq!(
                data_kinds, section_data_holes,
                "{template}.c for {target}: data holes"
            );
            // Every GOT slot is referenced by a code hole.
            for slot in group
                .data
                .holes
                .iter()
                .filter(|h| h.offset as usize >= group.got_offset)
            {
                let used = group.code.holes.iter().any(|h| {
                    h.value == HoleValue::Data
                        && (h.addend == slot.offset as i64 || h.addend + 4 == slot.offset as i64)
                });
                assert!(
                    used,
                    "{template}.c for {target}: GOT slot {:#x} unused",
                    slot.offset
                );
            }
        }
    }
}
