//! Runs JIT-compiled programs for real: C templates compiled by clang 19 for the host
//! (x86_64-unknown-linux-gnu natively; aarch64-unknown-linux-gnu natively or under
//! `qemu-aarch64`, see `.ci/aarch64`), extracted by `patchjit-stencils`, emitted and executed.
//! Each architecture also runs every relaxation outcome of its GOT and branch holes.

#![cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
))]

mod support;

use std::sync::OnceLock;

use patchjit::{
    Arena, CodeHeap, Destination, Emitter, ExecutableCode, Instruction, Options, PatchKind,
    Placement, StencilTable,
};
use patchjit_stencils::Target;

const TARGET: Target = if cfg!(target_arch = "x86_64") {
    Target::X86_64UnknownLinuxGnu
} else {
    Target::Aarch64UnknownLinuxGnu
};

const TEMPLATES: &[&str] = &[
    "shim",
    "load",
    "add",
    "mul_oparg",
    "accumulate",
    "load_sum",
    "dec_jump_nonzero",
    "jump",
    "error_if_negative",
    "call_helper",
    "lookup",
    "ret",
    "error_exit",
    "scale",
    "add_data8",
    "vector_add",
];

fn table() -> &'static StencilTable {
    static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
    TABLE.get_or_init(|| support::leak_table(&support::build(TARGET, TEMPLATES), TARGET))
}

#[repr(C)]
#[derive(Debug, Default, PartialEq, Eq)]
struct State {
    sum: i64,
    error: i64,
}

extern "C" fn helper(x: i64) -> i64 {
    x * 10 + 1
}

fn helper_address() -> usize {
    helper as *const () as usize
}

/// A program under construction: instructions by template name.
struct Program {
    e: Emitter<'static>,
}

impl Program {
    fn new() -> Program {
        Program::with_table(table())
    }

    fn with_table(table: &'static StencilTable) -> Program {
        let mut e = Emitter::new(table, &[("helper", helper_address())]).unwrap();
        e.set_shim(e.group("shim").unwrap()).unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        Program { e }
    }

    fn op(&mut self, name: &str) -> Instruction {
        Instruction::new(
            self.e
                .group(name)
                .unwrap_or_else(|| panic!("no group {name}")),
        )
    }

    fn push(&mut self, name: &str, operand0: i64) -> usize {
        let i = Instruction {
            operand0: operand0 as u64,
            ..self.op(name)
        };
        self.e.push(i).unwrap()
    }

    fn finish(self, options: &Options) -> Compiled {
        Compiled {
            code: self.e.finish(options).unwrap(),
        }
    }
}

struct Compiled {
    code: ExecutableCode,
}

impl Compiled {
    fn run(&self) -> (i64, State) {
        let mut state = State::default();
        // SAFETY: the shim template is `int64_t _JIT_ENTRY(State *)` with the C ABI.
        let f: extern "C" fn(*mut State) -> i64 = unsafe { self.code.entry() };
        (f(&mut state), state)
    }
}

#[test]
fn arithmetic() {
    let mut p = Program::new();
    p.push("load", 5);
    p.push("add", 7);
    let mul = Instruction {
        oparg: 3,
        ..p.op("mul_oparg")
    };
    p.e.push(mul).unwrap();
    p.push("add", -40);
    assert_eq!(p.finish(&Options::default()).run().0, (5 + 7) * 3 - 40);
}

#[test]
fn loop_with_a_backward_jump_target() {
    for n in [1i64, 2, 10, 1000] {
        let mut p = Program::new();
        p.push("load", n);
        let top = p.e.label().unwrap();
        p.e.bind(top).unwrap();
        p.push("accumulate", 0);
        let dec = Instruction {
            jump_target: Some(Destination::Label(top)),
            ..p.op("dec_jump_nonzero")
        };
        p.e.push(dec).unwrap();
        p.push("load_sum", 0);
        let (acc, state) = p.finish(&Options::default()).run();
        assert_eq!(acc, n * (n + 1) / 2, "n = {n}");
        assert_eq!(state.sum, acc);
    }
}

#[test]
fn forward_jump_skips_instructions() {
    let mut p = Program::new();
    p.push("load", 1);
    let skip = p.e.label().unwrap();
    let jump = Instruction {
        jump_target: Some(Destination::Label(skip)),
        ..p.op("jump")
    };
    p.e.push(jump).unwrap();
    p.push("add", 100);
    p.e.bind(skip).unwrap();
    p.push("add", 10);
    assert_eq!(p.finish(&Options::default()).run().0, 11);
}

#[test]
fn error_target_and_error_exit() {
    for (start, expected) in [
        (-5i64, (-1, State { sum: 0, error: -5 })),
        (5, (1005, State::default())),
    ] {
        let mut p = Program::new();
        p.push("load", start);
        let exit = p.e.label().unwrap();
        let check = Instruction {
            error_target: Some(Destination::Label(exit)),
            ..p.op("error_if_negative")
        };
        p.e.push(check).unwrap();
        p.push("add", 1000);
        p.push("ret", 0);
        p.e.bind(exit).unwrap();
        p.push("error_exit", 0);
        assert_eq!(
            p.finish(&Options::default()).run(),
            expected,
            "start {start}"
        );
    }
}

/// A group whose data needs 16 bytes of alignment (a vector constant that clang loads with an
/// instruction that needs it aligned) after groups with 8 bytes of data: the extraction records
/// the alignment and the emitter honours it, in fresh pages, an arena and the code heap. With
/// 8-byte data placement every `vector_add` here would find its constant on an odd multiple of
/// 8 (x86-64: a fault; AArch64: an offset `ldr q` cannot encode).
#[test]
fn vector_constants_stay_aligned_after_odd_data() {
    let group = |name: &str| table().groups.iter().find(|g| g.name == name).unwrap();
    assert_eq!(group("vector_add").data_align, 16);
    assert_eq!(
        (group("add_data8").data.len, group("add_data8").data_align),
        (8, 8)
    );
    let placements = [
        Placement::Anywhere,
        Placement::Arena(Arena::new(1 << 20).unwrap()),
        Placement::Heap(CodeHeap::new(1 << 20).unwrap()),
    ];
    for placement in placements {
        for x in [-3i64, 0, 41] {
            let mut p = Program::new();
            p.push("load", x);
            let mut expected = x;
            for _ in 0..3 {
                p.push("add_data8", 0);
                p.push("vector_add", 0);
                expected = 2 * (expected + 7) + 3000;
            }
            let options = Options {
                placement: placement.clone(),
                ..Options::default()
            };
            assert_eq!(p.finish(&options).run().0, expected, "x = {x}");
        }
    }
}

#[test]
fn data_stencil_lookup() {
    for x in 0..10i64 {
        let mut p = Program::new();
        p.push("load", x);
        p.push("lookup", 0);
        assert_eq!(p.finish(&Options::default()).run().0, (x & 7) * (x & 7));
    }
}

/// Builds `load x; call_helper` at `placement`; returns the result and the two bytes before the
/// call's displacement.
#[cfg(target_arch = "x86_64")]
fn call_helper_at(placement: Placement) -> (i64, [u8; 2], usize) {
    let mut p = Program::new();
    p.push("load", 4);
    let call = p.push("call_helper", 0);
    let group = table().groups[p.e.group("call_helper").unwrap() as usize];
    let hole = group
        .code
        .holes
        .iter()
        .find(|h| h.patch == PatchKind::X86_64Rel32x)
        .expect("GOT call");
    let compiled = p.finish(&Options {
        placement,
        ..Options::default()
    });
    let site = compiled.code.instruction_start(call).unwrap() + hole.offset as usize;
    let code = compiled.code.code();
    let at = site - compiled.code.entry_address();
    (
        compiled.run().0,
        [code[at - 2], code[at - 1]],
        compiled.code.entry_address(),
    )
}

#[cfg(target_arch = "x86_64")]
#[test]
fn helper_call_relaxed_when_within_2gib() {
    let hint = (helper_address() + (512 << 20)) & !0xFFFF;
    let (result, opcode, address) = call_helper_at(Placement::Near(hint));
    assert!(
        address.abs_diff(helper_address()) < 1 << 31,
        "code placed at {address:#x}, not near the helper"
    );
    assert_eq!(result, 41);
    assert_eq!(
        opcode,
        [0x90, 0xE8],
        "call [rip+GOT] relaxed to nop; call rel32"
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn helper_call_through_the_got_when_far() {
    let hint = (helper_address() + (8 << 30)) & !0xFFFF;
    let (result, opcode, address) = call_helper_at(Placement::Near(hint));
    assert!(
        address.abs_diff(helper_address()) > 1 << 31,
        "code placed at {address:#x}, too near the helper"
    );
    assert_eq!(result, 41);
    assert_eq!(
        opcode,
        [0xFF, 0x15],
        "call stays indirect through the GOT slot"
    );
}

#[test]
fn arena_units_run_and_are_reused() {
    let arena = Arena::new(16 << 20).unwrap();
    let mut first = None;
    for i in 0..50i64 {
        let mut p = Program::new();
        p.push("load", i);
        p.push("call_helper", 0);
        let compiled = p.finish(&Options {
            placement: Placement::Arena(arena.clone()),
            ..Options::default()
        });
        assert_eq!(compiled.run().0, i * 10 + 1);
        let address = compiled.code.entry_address();
        assert_eq!(
            *first.get_or_insert(address),
            address,
            "freed chunk is reused"
        );
    }
}

/// Units through a small code heap: compiled, run and dropped until their bytes have been
/// recycled many times over (on AArch64 this exercises the cache maintenance between the two
/// views, and under qemu-user the remapping that drops stale translations).
#[test]
fn code_heap_units_run_and_are_recycled() {
    let heap = CodeHeap::new(16 << 10).unwrap();
    let total = heap.free_bytes();
    let options = Options {
        placement: Placement::Heap(heap.clone()),
        ..Options::default()
    };
    let mut addresses = std::collections::HashSet::new();
    for i in 0..300i64 {
        let mut p = Program::new();
        p.push("load", i);
        p.push("call_helper", 0);
        let compiled = p.finish(&options);
        assert_eq!(compiled.run().0, i * 10 + 1, "unit {i}");
        addresses.insert(compiled.code.entry_address());
    }
    if heap.is_dual_mapped() {
        assert!(addresses.len() < 300, "heap bytes are reused");
    }
    assert_eq!(heap.free_bytes(), total);
}

#[test]
fn client_defined_hole_values() {
    let mut p = Program::new();
    let scale =
        p.e.custom_value("SCALE")
            .expect("SCALE declared to the extractor");
    p.push("load", 3);
    let first = p.push("scale", 0);
    let second = p.push("scale", 0);
    p.e.set_custom(first, scale, 7).unwrap();
    p.e.set_custom(second, scale, 11).unwrap();
    assert_eq!(p.finish(&Options::default()).run().0, 3 * 7 * 11);
}

/// The address of instruction `index`'s first hole of kind `patch` and the two instruction words
/// there.
#[cfg(target_arch = "aarch64")]
fn hole_words(
    compiled: &Compiled,
    table: &StencilTable,
    name: &str,
    index: usize,
    patch: PatchKind,
) -> (usize, [u32; 2]) {
    let group = table.groups.iter().find(|g| g.name == name).unwrap();
    let hole = group
        .code
        .holes
        .iter()
        .find(|h| h.patch == patch)
        .unwrap_or_else(|| panic!("{name} has no {patch:?} hole"));
    let address = compiled.code.instruction_start(index).unwrap() + hole.offset as usize;
    let at = address - compiled.code.entry_address();
    let code = compiled.code.code();
    let word = |at: usize| u32::from_le_bytes(code[at..at + 4].try_into().unwrap());
    (address, [word(at), word(at + 4)])
}

/// A folded ADRP+LDR of a GOT slot becomes MOVZ, MOVZ+MOVK, LDR literal or stays ADRP+LDR,
/// depending on the value and how far the slot is; every form must load the right value.
#[cfg(target_arch = "aarch64")]
#[test]
fn got_loads_in_every_relaxed_form() {
    static FAR: OnceLock<&'static StencilTable> = OnceLock::new();
    let far = *FAR.get_or_init(|| {
        support::leak_table(
            &support::build(TARGET, &["shim", "far_data", "ret"]),
            TARGET,
        )
    });
    let cases: [(&'static StencilTable, &str, i64, &str); 4] = [
        (table(), "load", 0x42, "movz"),
        (table(), "load", 0xDEAD_BEEF, "movz+movk"),
        (table(), "load", 0x1234_5678_9ABC, "ldr literal"),
        (far, "far_data", 0x1234_5678_9ABC, "adrp+ldr"),
    ];
    for (table, name, value, form) in cases {
        let mut p = Program::with_table(table);
        p.push(name, value);
        let compiled = p.finish(&Options::default());
        // `far_data` adds `far[0]`, which is 1.
        let expected = if name == "far_data" { value + 1 } else { value };
        assert_eq!(compiled.run().0, expected, "{name} {value:#x}");
        let (_, [first, second]) =
            hole_words(&compiled, table, name, 0, PatchKind::Aarch64Pair33rx);
        let seen = match (first >> 24, second) {
            (0xD2, 0xD503_201F) => "movz",
            (0xD2, _) => "movz+movk",
            (0x58, _) => "ldr literal",
            _ => "adrp+ldr",
        };
        assert_eq!(
            seen, form,
            "{name} {value:#x}: {first:#010x} {second:#010x}"
        );
    }
}

/// `BL helper` (no `-fno-plt`): direct when the helper is within 128 MiB, else through the
/// unit's trampoline; both must return the helper's result.
#[cfg(target_arch = "aarch64")]
#[test]
fn helper_call_direct_or_through_a_trampoline() {
    let objects: Vec<(&str, Vec<u8>)> = ["shim", "load", "ret"]
        .iter()
        .map(|&n| (n, support::compile_default(TARGET, n)))
        .chain([("call_helper", support::compile(TARGET, "call_helper", &[]))])
        .collect();
    let table = support::leak_table(&support::extract(TARGET, &objects), TARGET);
    // Below the helper: above it, the heap may take the hinted range.
    for (distance, form) in [(64isize << 20, "direct"), (8 << 30, "trampoline")] {
        let hint = helper_address().wrapping_add_signed(-distance) & !0xFFFF;
        let mut p = Program::with_table(table);
        p.push("load", 4);
        p.push("call_helper", 0);
        let compiled = p.finish(&Options {
            placement: Placement::Near(hint),
            ..Options::default()
        });
        let address = compiled.code.entry_address();
        assert_eq!(
            address.abs_diff(helper_address()) < 1 << 27,
            form == "direct",
            "code placed at {address:#x}, helper at {:#x}",
            helper_address()
        );
        assert_eq!(compiled.run().0, 41, "{form}");
        let (pc, [bl, _]) = hole_words(
            &compiled,
            table,
            "call_helper",
            1,
            PatchKind::Aarch64Trampoline,
        );
        assert_eq!(bl >> 26, 0b100101, "{form}: a BL");
        let offset = (((bl & 0x03FF_FFFF) << 6) as i32 >> 6) as isize * 4;
        let target_is_helper = pc.wrapping_add_signed(offset) == helper_address();
        assert_eq!(target_is_helper, form == "direct", "{form}: BL target");
    }
}

/// Reusing an arena chunk for different code must flush the instruction cache (AArch64): the
/// second program must not run the first one's stale instructions.
#[test]
fn arena_chunk_reused_for_different_code() {
    let arena = Arena::new(1 << 20).unwrap();
    for (i, value) in [11i64, 22, 33, 44].into_iter().enumerate() {
        let mut p = Program::new();
        p.push("load", value);
        if i % 2 == 1 {
            p.push("add", 1000);
        }
        let compiled = p.finish(&Options {
            placement: Placement::Arena(arena.clone()),
            ..Options::default()
        });
        let expected = value + if i % 2 == 1 { 1000 } else { 0 };
        assert_eq!(compiled.run().0, expected, "program {i}");
    }
}
