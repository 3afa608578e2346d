//! Compiling and dropping units in a loop must not grow the resident set: mappings are unmapped,
//! arena chunks are released and reused, GDB registrations are unlinked.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use patchjit::{
    Arena, CodeHeap, Emitter, Hole, HoleValue, Instruction, Options, PatchKind, Placement, Stencil,
    StencilGroup, StencilTable,
};

/// `movabs rax, OPERAND0; jmp CONTINUE` with a 64-byte data stencil, and `ret`.
static GROUPS: &[StencilGroup] = &[
    StencilGroup {
        name: "load",
        data_align: 8,
        code: Stencil {
            len: 15,
            body: &[0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xE9],
            holes: &[
                Hole {
                    offset: 2,
                    patch: PatchKind::Abs64,
                    value: HoleValue::Operand0,
                    symbol: None,
                    addend: 0,
                },
                Hole {
                    offset: 11,
                    patch: PatchKind::Rel32,
                    value: HoleValue::Continue,
                    symbol: None,
                    addend: -4,
                },
            ],
        },
        data: Stencil {
            len: 64,
            body: &[1; 64],
            holes: &[],
        },
    },
    StencilGroup {
        name: "ret",
        data_align: 8,
        code: Stencil {
            len: 1,
            body: &[0xC3],
            holes: &[],
        },
        data: Stencil {
            len: 0,
            body: &[],
            holes: &[],
        },
    },
];

static TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    groups: GROUPS,
    symbols: &[],
    custom_values: &[],
};

fn resident_pages() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn compile_and_run(options: &Options, i: u64) {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    // 300 instructions: several code pages and a few data pages per unit.
    for k in 0..300 {
        e.push(Instruction {
            operand0: i + k,
            ..Instruction::new(0)
        })
        .unwrap();
    }
    e.push(Instruction::new(1)).unwrap();
    let code = e.finish(options).unwrap();
    // SAFETY: the program is a function returning rax.
    let f: extern "C" fn() -> u64 = unsafe { code.entry() };
    assert_eq!(f(), i + 299);
}

fn assert_stable(options: &Options) {
    for i in 0..200 {
        compile_and_run(options, i);
    }
    let before = resident_pages();
    for i in 0..3000 {
        compile_and_run(options, i);
    }
    let after = resident_pages();
    // Leaking even one page per unit would add 3000 pages.
    assert!(
        after <= before + 64,
        "resident pages grew from {before} to {after}"
    );
}

#[test]
fn rss_is_stable_with_fresh_mappings() {
    assert_stable(&Options::default());
}

/// With GDB registration when the `gdb-jit` feature is on (entries must be unlinked and freed).
#[test]
fn rss_is_stable_with_an_arena_and_gdb_registration() {
    let arena = Arena::new(64 << 20).unwrap();
    let options = Options {
        placement: Placement::Arena(arena.clone()),
        gdb: cfg!(feature = "gdb-jit"),
        ..Options::default()
    };
    assert_stable(&options);
    assert_eq!(arena.free_bytes(), 64 << 20);
}

/// Through the emitter into a small dual-mapped heap: units are dropped, their ranges retired
/// and recycled many times over, and every unit runs its own code.
#[test]
fn rss_is_stable_with_a_code_heap() {
    let heap = CodeHeap::new(1 << 20).unwrap();
    let total = heap.free_bytes();
    let options = Options {
        placement: Placement::Heap(heap.clone()),
        ..Options::default()
    };
    assert_stable(&options);
    assert_eq!(heap.free_bytes(), total);
}
