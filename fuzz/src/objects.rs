//! What one object-file input goes through: both readers' entry points, extraction, the dump
//! JSON round trip, and emission of every group through the runtime's range-checked patch
//! functions (as extracted, and after hot-path fallthrough), for whichever of the seven targets
//! the object is for.

use patchjit::{Destination, Emitter, Instruction, StencilTable};
use patchjit_stencils::{
    extract, fall_through, from_json, read_object, read_readobj_json, readobj_json_target, to_json,
    Extraction, ObjectSections, Options, Target,
};

use crate::table::with_table;

/// The client-defined hole value the runtime's templates use (`_JIT_SCALE` in `scale.c`).
const CUSTOM_VALUES: &[&str] = &["SCALE"];

/// Extractions and programs larger than this (4× `patchjit-build`'s default code size cap) are
/// neither dumped nor emitted: a corrupt size (a zero-fill section of 160 MiB, say) would make
/// each such input take seconds (a 4 MiB one still took 5 s under ASan) and hide the others.
/// Extraction itself has no total size cap yet (issue #13; docs/fuzzing.md).
const MAX_EMIT_BYTES: u64 = 1 << 16;

/// Groups emitted per input (each is emitted alone, in every [`Values`] scenario).
const MAX_GROUPS: usize = 64;

/// How far an input got: the campaign reports how many mutants reached each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reached {
    /// The reader refused it.
    Nothing,
    /// Read, but extraction refused it.
    Read,
    /// Extracted, but no group could be emitted (unrepresentable, or every patch out of range).
    Extracted,
    /// At least one group was copied and patched.
    Emitted,
}

/// An object file: read it (detecting its target, then as each of the seven targets), extract
/// it and emit what it gives. Every step may fail with an error, none may panic.
pub fn object(bytes: &[u8]) -> Reached {
    for target in Target::ALL {
        let _ = read_object("fuzz.o", bytes, Some(target));
    }
    match read_object("fuzz.o", bytes, None) {
        Ok(sections) => extract_and_emit(&sections),
        Err(_) => Reached::Nothing,
    }
}

/// `llvm-readobj --elf-output-style=JSON` text: read it for the target its summary names (or
/// each target when it names none), then extract and emit as for an object file.
pub fn readobj_json(bytes: &[u8]) -> Reached {
    let Ok(json) = std::str::from_utf8(bytes) else {
        return Reached::Nothing;
    };
    match readobj_json_target("fuzz.json", json) {
        Ok(target) => match read_readobj_json("fuzz.json", json, target) {
            Ok(sections) => extract_and_emit(&sections),
            Err(_) => Reached::Nothing,
        },
        Err(_) => {
            for target in Target::ALL {
                let _ = read_readobj_json("fuzz.json", json, target);
            }
            Reached::Nothing
        }
    }
}

fn extract_and_emit(sections: &ObjectSections) -> Reached {
    let options = Options {
        custom_values: CUSTOM_VALUES.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let Ok(extraction) = extract("fuzz.o", std::slice::from_ref(sections), &options) else {
        return Reached::Read;
    };
    let size: usize = extraction
        .groups
        .iter()
        .map(|g| g.code.body.len() + g.data.body.len())
        .sum();
    if size as u64 > MAX_EMIT_BYTES {
        return Reached::Extracted;
    }
    let target = sections.target;
    // The dump leaves out what it can derive (`data_section_len`, `got_offset`), so the
    // property is that its text reads back to itself.
    let json = to_json(&extraction, target);
    let (read_target, read) = from_json("fuzz.json", &json).expect("the dump reads back");
    assert!(
        read_target == target && to_json(&read, target) == json,
        "the dump JSON does not read back to itself"
    );
    let mut emitted = emit(&extraction, target, &options.custom_values);
    // What `patchjit-build` writes into tables: the branch stencils rewritten to fall through.
    let mut rewritten = extraction;
    if fall_through(&mut rewritten, target) > 0 {
        emitted |= emit(&rewritten, target, &options.custom_values);
    }
    if emitted {
        Reached::Emitted
    } else {
        Reached::Extracted
    }
}

/// Where the program is placed and what its holes get: near values (symbols and data close to
/// the code, small operands), far ones (everything at opposite ends of the address space) and a
/// misaligned base, so both the success and every range/alignment check of each patch kind run.
#[derive(Clone, Copy)]
struct Values {
    base: u64,
    symbol: fn(usize) -> u64,
    operand: u64,
}

const SCENARIOS: [Values; 3] = [
    Values {
        base: 0x7f00_0010_0000,
        symbol: |i| 0x7f00_0000_0000 + 0x40 * i as u64,
        operand: 0x1234,
    },
    Values {
        base: 0xffff_ffff_0000_0000,
        symbol: |i| 0x1000 + 0x40 * i as u64,
        operand: u64::MAX,
    },
    Values {
        base: 0x10_0002,
        symbol: |i| 0x10_0000 + 3 * i as u64,
        operand: 0x8000_0000,
    },
];

/// Emits each group alone in every scenario; true when at least one emission succeeded.
fn emit(extraction: &Extraction, target: Target, custom_values: &[String]) -> bool {
    with_table(extraction, target, custom_values, |table| {
        let groups = table.groups.len().min(MAX_GROUPS) as u16;
        let mut emitted = false;
        for values in SCENARIOS {
            for group in 0..groups {
                emitted |= emit_alone(table, group, values);
            }
        }
        if groups > 0 {
            map_on_host(table);
        }
        emitted
    })
    .unwrap_or(false)
}

/// An emitter holding instruction `group` alone (its own jump and error target), with the same
/// group as shim and terminator so it is also copied without an instruction.
fn emitter<'t>(
    table: &'t StencilTable,
    resolver: &[(&str, usize)],
    group: u16,
    values: Values,
) -> Option<Emitter<'t>> {
    let mut e = Emitter::new(table, resolver).ok()?;
    e.set_executor(values.operand);
    e.set_shim(group).ok()?;
    e.set_terminator(group).ok()?;
    let index = e
        .push(Instruction {
            oparg: values.operand >> 3,
            operand0: values.operand,
            operand1: values.operand.rotate_left(17),
            target: values.operand ^ 0x55,
            jump_target: Some(Destination::Instruction(0)),
            error_target: Some(Destination::Instruction(0)),
            ..Instruction::new(group)
        })
        .ok()?;
    for value in 0..table.custom_values.len() as u16 {
        e.set_custom(index, value, values.operand).ok()?;
    }
    Some(e)
}

fn resolver(table: &StencilTable, values: Values) -> Vec<(&str, usize)> {
    table
        .symbols
        .iter()
        .enumerate()
        .map(|(i, &name)| (name, (values.symbol)(i) as usize))
        .collect()
}

/// Lays out and patches `group` into a buffer as if at `values.base` (any target: nothing
/// runs); true when it was emitted.
fn emit_alone(table: &StencilTable, group: u16, values: Values) -> bool {
    let resolver = resolver(table, values);
    let Some(e) = emitter(table, &resolver, group, values) else {
        return false;
    };
    let Ok(layout) = e.layout() else {
        return false;
    };
    let data_offset = (layout.code_len() as u64).next_multiple_of(16);
    let size = data_offset + layout.data_len() as u64;
    if size > MAX_EMIT_BYTES {
        return false;
    }
    let mut buf = vec![0u8; size as usize];
    e.emit_into(&layout, &mut buf, values.base, data_offset as usize)
        .is_ok()
}

/// On a host that runs the table's target, maps the first group into W^X memory (never runs it:
/// a mutated stencil is arbitrary machine code); other targets stop at `ForeignTable`.
fn map_on_host(table: &StencilTable) {
    let values = SCENARIOS[0];
    let resolver = resolver(table, values);
    if let Some(e) = emitter(table, &resolver, 0, values) {
        if e.layout()
            .is_ok_and(|l| l.code_len() as u64 + l.data_len() as u64 <= MAX_EMIT_BYTES)
        {
            let _ = e.finish(&patchjit::Options::default());
        }
    }
}
