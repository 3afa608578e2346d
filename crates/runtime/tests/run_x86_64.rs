//! Runs JIT-compiled programs for real: C templates compiled by clang 19 for
//! x86_64-unknown-linux-gnu, extracted by `patchjit-stencils`, emitted and executed.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

mod support;

use std::sync::OnceLock;

use patchjit::{
    Arena, Destination, Emitter, ExecutableCode, Instruction, Options, Placement, StencilTable,
};
use patchjit_stencils::Target;

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
];

fn table() -> &'static StencilTable {
    static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let target = Target::X86_64UnknownLinuxGnu;
        support::leak_table(&support::build(target, TEMPLATES), target)
    })
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
        let mut e = Emitter::new(table(), &[("helper", helper_address())]).unwrap();
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
        let top = p.e.label();
        p.e.bind(top);
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
    let skip = p.e.label();
    let jump = Instruction {
        jump_target: Some(Destination::Label(skip)),
        ..p.op("jump")
    };
    p.e.push(jump).unwrap();
    p.push("add", 100);
    p.e.bind(skip);
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
        let exit = p.e.label();
        let check = Instruction {
            error_target: Some(Destination::Label(exit)),
            ..p.op("error_if_negative")
        };
        p.e.push(check).unwrap();
        p.push("add", 1000);
        p.push("ret", 0);
        p.e.bind(exit);
        p.push("error_exit", 0);
        assert_eq!(
            p.finish(&Options::default()).run(),
            expected,
            "start {start}"
        );
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
fn call_helper_at(placement: Placement) -> (i64, [u8; 2], usize) {
    let mut p = Program::new();
    p.push("load", 4);
    let call = p.push("call_helper", 0);
    let group = table().groups[p.e.group("call_helper").unwrap() as usize];
    let hole = group
        .code
        .holes
        .iter()
        .find(|h| h.patch == patchjit::PatchKind::X86_64Rel32x)
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
