//! The JIT tier against the interpreter on the paths random programs rarely take: local calls
//! and their depth limit, helpers that fault, unwind, write memory or panic, and stores out of
//! bounds. Every case must give the interpreter's result or error exactly.

#![cfg(bpf_jit)]

mod common;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::jit::{Jit, JitError};
use patchjit_bpf::vm::{ExecError, HelperFault, Helpers};

/// Runs `src` on both tiers with `mem` (each on its own copy); returns the JIT's outcome and
/// memory after checking that they equal the interpreter's. Out-of-bounds addresses are host
/// addresses of each run's own buffers, so they are compared relative to the input (the
/// differential property test in fuzz.rs does the same on random programs).
fn both(src: &str, mem: &[u8]) -> (Result<u64, ExecError>, Vec<u8>) {
    let prog = assemble(src).unwrap();
    let interp = Interpreter::new(prog.clone(), Helpers::conformance()).unwrap();
    let jit = Jit::new(prog, Helpers::conformance()).unwrap();
    let (mut a, mut b) = (mem.to_vec(), mem.to_vec());
    let want = common::relative(interp.run(&mut a), a.as_ptr() as u64);
    let got = common::relative(jit.run(&mut b), b.as_ptr() as u64);
    if let (Err(ExecError::OutOfBounds { addr, .. }), true) = (&got, src.contains("%r10")) {
        // Stack addresses differ between runs: only the rest of the fault must agree.
        let strip = |r: Result<u64, ExecError>| match r {
            Err(ExecError::OutOfBounds {
                pc, size, write, ..
            }) => (pc, size, write),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            strip(got.clone()),
            strip(want.clone()),
            "{src} (at {addr:#x})"
        );
        return (got, b);
    }
    assert_eq!(got, want, "{src}");
    assert_eq!(b, a, "memory after {src}");
    (got, b)
}

#[test]
fn local_calls_restore_registers_and_frames() {
    let src = "
        mov %r6, 1
        mov %r0, 0
        call local f
        add %r0, %r6
        exit
    f:
        mov %r6, 100
        stxdw [%r10-8], %r6
        call local g
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
    g:
        mov %r6, 20
        stxdw [%r10-8], %r6
        ldxdw %r0, [%r10-8]
        exit";
    assert_eq!(both(src, &[]).0, Ok(121));
}

/// A local call saves only the r6-r9 its callee's own instructions write (one stencil per
/// subset): for every subset, a callee writing exactly those (by ALU, load, lddw and atomic
/// fetch) and calling a second callee that writes the others, with r1-r5 from the callee
/// seen by the caller. The caller folds r1-r9 into r0, so a register lost or kept wrongly
/// changes the result.
#[test]
fn local_calls_save_what_the_callee_writes() {
    let writes = [
        "mov %r6, 0x66",
        "stxdw [%r10-8], %r1\nldxdw %r7, [%r10-8]",
        "lddw %r8, 0x123456789",
        "mov %r9, 99\nstxdw [%r10-16], %r9\nlock fetch add [%r10-16], %r9",
    ];
    for mask in 0..16usize {
        let mine: Vec<&str> = (0..4)
            .filter(|b| mask >> b & 1 == 1)
            .map(|b| writes[b])
            .collect();
        let others: Vec<&str> = (0..4)
            .filter(|b| mask >> b & 1 == 0)
            .map(|b| writes[b])
            .collect();
        let src = format!(
            "mov %r6, 6\nmov %r7, 7\nmov %r8, 8\nmov %r9, 9\ncall local f\n\
             lsh %r0, 3\nadd %r0, %r1\nlsh %r0, 3\nadd %r0, %r2\nlsh %r0, 3\nadd %r0, %r3\n\
             lsh %r0, 3\nadd %r0, %r4\nlsh %r0, 3\nadd %r0, %r5\nlsh %r0, 3\nadd %r0, %r6\n\
             lsh %r0, 3\nadd %r0, %r7\nlsh %r0, 3\nadd %r0, %r8\nlsh %r0, 3\nadd %r0, %r9\n\
             exit\n\
             f:\n{}\ncall local g\nmov %r1, 1\nmov %r2, 2\nmov %r3, 3\nmov %r5, 5\nexit\n\
             g:\n{}\nmov %r4, 4\nmov %r0, 1\nexit",
            mine.join("\n"),
            others.join("\n"),
        );
        assert!(both(&src, &[]).0.is_ok(), "{src}");
    }
}

/// A chain of `n` nested local calls below the entry function; the innermost returns 7.
fn chain(n: usize) -> String {
    let mut src = String::from("call local f1\nexit\n");
    for k in 1..n {
        src += &format!("f{k}:\ncall local f{}\nexit\n", k + 1);
    }
    src + &format!("f{n}:\nmov %r0, 7\nexit\n")
}

/// A fault in the innermost of seven nested callees (a load or a store out of bounds, a
/// helper's fault, a helper that stops the program, an unknown helper) stops the whole
/// program with its own pc (x86-64 returns straight to the entry, elsewhere through every
/// caller), and the same code runs to the end afterwards.
#[test]
fn a_fault_in_a_callee_stops_the_program() {
    for (fault, pc) in [
        ("add %r1, -1048576\nldxdw %r0, [%r1]", 15),
        ("add %r1, -1048576\nstdw [%r1], 1", 15),
        ("mov %r1, 16\nmov %r2, 4\ncall 1", 16),
        ("mov %r1, 0\ncall 5", 15),
        ("call 77", 14),
    ] {
        let src = chain(7).replace("mov %r0, 7\n", &format!("{fault}\nmov %r0, 7\n"));
        let (got, _) = both(&src, &[0; 8]);
        if fault.contains("call 5") {
            // unwind(0): stopped, r0 = 0, no error.
            assert_eq!(got, Ok(0), "{src}");
        } else {
            assert!(
                matches!(got, Err(ref e) if e.to_string().starts_with(&format!("instruction {pc}:"))),
                "{src}: {got:?}"
            );
        }
        // Stopping left the host's stack as it was: the same code stops the same way again,
        // and code without the fault runs to the end.
        let jit = Jit::new(assemble(&src).unwrap(), Helpers::conformance()).unwrap();
        let mut mem = [0u8; 8];
        let first = jit.run(&mut mem);
        for _ in 0..3 {
            assert_eq!(jit.run(&mut mem), first, "{src}");
        }
        let jit = Jit::new(assemble(&chain(7)).unwrap(), Helpers::conformance()).unwrap();
        assert_eq!(jit.run(&mut mem), Ok(7));
    }
}

#[test]
fn call_depth_limit_is_the_interpreters() {
    // Eight frames (the entry and seven callees) run; a ninth is refused before running.
    assert_eq!(both(&chain(7), &[]).0, Ok(7));
    let prog = assemble(&chain(8)).unwrap();
    let refused = Interpreter::new(prog.clone(), Helpers::conformance())
        .err()
        .expect("the verifier refuses nine frames");
    assert!(matches!(
        Jit::new(prog, Helpers::conformance()),
        Err(JitError::Verify(e)) if e == refused
    ));
}

#[test]
fn helpers_write_memory_fault_and_unwind() {
    // memfrob XORs the input with 42 in place and returns 0 (uBPF's test helper).
    let (got, mem) = both("mov %r2, 4\ncall 1\nexit", &[1, 2, 3, 4, 5]);
    assert_eq!(got, Ok(0));
    assert_eq!(mem, [1 ^ 42, 2 ^ 42, 3 ^ 42, 4 ^ 42, 5]);
    // no_op returns 0; sqrti takes all 64 bits of its argument and truncates the root.
    assert_eq!(both("mov %r0, 5\ncall 2\nexit", &[]).0, Ok(0));
    assert_eq!(
        both("lddw %r1, 0x200000000\ncall 3\nexit", &[]).0,
        Ok(92681)
    );
    assert_eq!(both("mov %r1, 99\ncall 3\nexit", &[]).0, Ok(9));
    // No input: r1 is a null pointer and r2 is 0.
    assert_eq!(both("mov %r0, %r1\nor %r0, %r2\nexit", &[]).0, Ok(0));
    // A pointer outside program memory is the helper's fault, at the call's index.
    let (got, _) = both("mov %r1, 16\nmov %r2, 4\ncall 1\nexit", &[]);
    assert_eq!(
        got,
        Err(ExecError::HelperFault {
            pc: 2,
            id: 1,
            fault: HelperFault::OutOfBounds { addr: 16, len: 4 }
        })
    );
    // unwind(0) stops the program with r0 = 0; unwind(x != 0) returns x.
    assert_eq!(both("mov %r1, 0\ncall 5\nmov %r0, 9\nexit", &[]).0, Ok(0));
    assert_eq!(both("mov %r1, 3\ncall 5\nexit", &[]).0, Ok(3));
    // callx takes the id from a register; an unknown id is an error at that instruction.
    assert_eq!(
        both("mov %r1, 49\nmov %r3, 3\ncall %r3\nexit", &[]).0,
        Ok(7)
    );
    assert_eq!(
        both("mov %r0, 1\ncall 77\nexit", &[]).0,
        Err(ExecError::UnknownHelper { pc: 1, id: 77 })
    );
}

/// Loads and stores of every size through registers other than r10, into the stack (which
/// the x86-64 code checks out of line, after the input test failed: the access must happen
/// and the program go on with the next instruction), into the input, and just past either.
#[test]
fn accesses_through_other_registers_reach_the_stack_and_the_input() {
    for (size, suffix) in [(1, "b"), (2, "h"), (4, "w"), (8, "dw")] {
        for (base, off) in [("%r10", -32), ("%r10", -4096), ("%r1", 0), ("%r1", 8)] {
            let src = format!(
                "mov %r7, {base}\nadd %r7, {off}\nmov %r3, 0x7a\n\
                 stx{suffix} [%r7], %r3\nst{suffix} [%r7+{s2}], 0x55\n\
                 ldx{suffix} %r0, [%r7]\nldx{suffix} %r4, [%r7+{s2}]\n\
                 lsh %r0, 8\nadd %r0, %r4\nexit",
                s2 = size,
            );
            assert!(both(&src, &[0; 32]).0.is_ok(), "{src}");
        }
        // Past the top of the stack and past the end of the input: both tiers' fault.
        for (base, off) in [("%r10", 0), ("%r1", 32 - size + 1)] {
            let load = format!("mov %r7, {base}\nadd %r7, {off}\nldx{suffix} %r0, [%r7]\nexit");
            let store = format!("mov %r7, {base}\nadd %r7, {off}\nst{suffix} [%r7], 1\nexit");
            assert!(both(&load, &[0; 32]).0.is_err(), "{load}");
            assert!(both(&store, &[0; 32]).0.is_err(), "{store}");
        }
    }
}

#[test]
fn out_of_bounds_stores_and_loads_name_the_instruction() {
    let (got, _) = both("mov %r0, 0\nstw [%r1+2], 5\nexit", &[0; 5]);
    assert_eq!(
        got,
        Err(ExecError::OutOfBounds {
            pc: 1,
            addr: 2,
            size: 4,
            write: true
        })
    );
    let (got, _) = both("mov %r2, %r10\nldxdw %r0, [%r2]\nexit", &[]);
    assert!(matches!(
        got,
        Err(ExecError::OutOfBounds {
            pc: 1,
            size: 8,
            write: false,
            ..
        })
    ));
}

#[test]
fn a_panicking_helper_panics_in_the_caller() {
    let mut helpers = Helpers::new();
    helpers.register(9, "boom", Box::new(|_, _| panic!("helper 9 exploded")));
    let jit = Jit::new(assemble("call 9\nexit").unwrap(), helpers).unwrap();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| jit.run(&mut [])))
        .expect_err("the helper's panic reaches the caller");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"helper 9 exploded"));
}

#[test]
fn programs_compiled_into_an_arena_run_and_free_their_chunks() {
    let arena = patchjit::Arena::new(1 << 20).unwrap();
    let options = patchjit::Options {
        placement: patchjit::Placement::Arena(arena),
        ..patchjit::Options::default()
    };
    // Many more programs than the arena could hold at once: chunks must come back on drop.
    for k in 0..2_000 {
        let src = format!("mov %r0, {k}\nadd %r0, 1\nexit");
        let jit = Jit::with_options(assemble(&src).unwrap(), Helpers::new(), &options).unwrap();
        assert_eq!(jit.run(&mut []), Ok(k + 1));
    }
}

#[test]
fn programs_compiled_into_a_code_heap_run_and_are_recycled() {
    let heap = patchjit::CodeHeap::new(64 << 10).unwrap();
    let total = heap.free_bytes();
    let options = patchjit::Options {
        placement: patchjit::Placement::Heap(heap.clone()),
        ..patchjit::Options::default()
    };
    // Many more programs than the heap holds at once, with a helper call (the GOT slot is
    // data) and a loop: each runs its own code from recycled bytes.
    let helpers = || {
        let mut helpers = Helpers::new();
        helpers.register(1, "inc", Box::new(|args, _| Ok(args[0] + 1)));
        helpers
    };
    for k in 0..2_000u64 {
        let src = format!(
            "mov %r1, {k}\ncall 1\nmov %r2, 3\nloop:\nadd %r0, 1\nsub %r2, 1\njne %r2, 0, loop\nexit"
        );
        let jit = Jit::with_options(assemble(&src).unwrap(), helpers(), &options).unwrap();
        assert_eq!(jit.run(&mut []), Ok(k + 4), "program {k}");
    }
    assert_eq!(heap.free_bytes(), total);
}

/// RFC 9669 §4.1: division by zero gives 0 and modulo by zero leaves dst as it was (cut to 32
/// bits for the ALU32 forms), signed or not, by an immediate or a register. The immediate forms
/// were miscompiled (the test of the patched value against 0 folded away: SIGFPE).
#[test]
fn division_and_modulo_by_zero_follow_rfc_9669() {
    for dst in [0xdead_beef_cafe_babe_u64, (-7i64) as u64, 5, 0] {
        for op in ["div", "mod", "sdiv", "smod"] {
            for wide in [true, false] {
                let keep = op.ends_with("mod");
                let want = match (keep, wide) {
                    (false, _) => 0,
                    (true, true) => dst,
                    (true, false) => dst as u32 as u64,
                };
                let suffix = if wide { "" } else { "32" };
                for operand in ["0", "%r1"] {
                    let src = format!(
                        "lddw %r0, {dst:#x}\nmov %r1, 0\n{op}{suffix} %r0, {operand}\nexit"
                    );
                    assert_eq!(both(&src, &[]).0, Ok(want), "{src}");
                }
            }
        }
    }
}

/// Both tiers spend a budget on the same events (taken back-edges and local calls) and stop at
/// the same instruction; a program that loops forever stops.
#[test]
fn budgets_stop_at_the_same_instruction_on_both_tiers() {
    let forever = assemble("mov %r0, 0\nloop:\nadd %r0, 1\nja loop").unwrap();
    let counted = assemble(
        "mov %r6, 5\ncall local f\ncall local f\nexit\nf:\nsub %r6, 1\njgt %r6, 2, -2\nexit",
    )
    .unwrap();
    for budget in [0, 1, 2, 3, 4, 5, 6, 1_000_000] {
        for prog in [&forever, &counted] {
            let mut interp = Interpreter::new(prog.clone(), Helpers::conformance()).unwrap();
            interp.set_budget(Some(budget));
            let options = patchjit::Options::default();
            let jit =
                Jit::with_budget(prog.clone(), Helpers::conformance(), &options, budget).unwrap();
            let want = interp.run(&mut []);
            assert_eq!(jit.run(&mut []), want, "budget {budget}");
            // Each run starts with the whole budget again.
            assert_eq!(jit.run(&mut []), want, "budget {budget}, second run");
            if std::ptr::eq(prog, &forever) {
                assert_eq!(want, Err(ExecError::BudgetExhausted { pc: 2 }));
            }
        }
    }
}

/// Loads and stores at the extreme offsets (±32 KiB, sign-extended) of every size, in bounds of
/// a 64 KiB input, agree on both tiers and touch the bytes the offset names.
#[test]
fn extreme_offsets_reach_the_bytes_they_name() {
    const STORED: u64 = 0xfedc_ba98_7654_3210;
    let mut mem = vec![0u8; 32768 + 32767 + 8];
    for (k, byte) in mem.iter_mut().enumerate() {
        *byte = (k % 251) as u8;
    }
    for off in [i16::MIN, -1, 0, 1, i16::MAX] {
        for (size, suffix) in [(1, "b"), (2, "h"), (4, "w"), (8, "dw")] {
            let src = format!(
                "mov %r6, %r1\nadd %r6, 32768\nldx{suffix} %r0, [%r6{off:+}]\n\
                 lddw %r7, {STORED:#x}\nstx{suffix} [%r6{off:+}], %r7\nexit"
            );
            let (got, after) = both(&src, &mem);
            let at = (32768 + off as i64) as usize;
            let mut want = [0u8; 8];
            want[..size].copy_from_slice(&mem[at..at + size]);
            assert_eq!(got, Ok(u64::from_le_bytes(want)), "{src}");
            assert_eq!(after[at..at + size], STORED.to_le_bytes()[..size], "{src}");
        }
    }
}

/// The 32-bit operations and jumps with an immediate (on x86-64 one instruction with a 32-bit
/// immediate field each) at the immediate's extremes and on destinations whose upper half is
/// set: the interpreter's results on both tiers, checked and unchecked, and the upper half
/// cleared by every ALU32 operation.
#[test]
fn thirty_two_bit_immediates_at_their_extremes() {
    let imms = [0i64, 1, -1, i32::MIN as i64, i32::MAX as i64];
    let dsts = [
        0u64,
        u64::MAX,
        0x8000_0000,
        0x7fff_ffff,
        0x1_2345_6789,
        0xffff_ffff_0000_0001,
    ];
    let run = |src: &str| {
        let prog = assemble(src).unwrap();
        let want = Interpreter::new(prog.clone(), Helpers::conformance())
            .unwrap()
            .run(&mut []);
        let checked = Jit::new(prog.clone(), Helpers::conformance()).unwrap();
        // SAFETY: the programs make no memory access.
        let unchecked =
            unsafe { Jit::unchecked(prog, Helpers::conformance(), &Default::default()) }.unwrap();
        assert_eq!(checked.run(&mut []), want, "{src}");
        assert_eq!(unchecked.run(&mut []), want, "{src} (unchecked)");
        want
    };
    for imm in imms {
        for dst in dsts {
            for op in ["add32", "sub32", "and32", "or32", "xor32", "mov32", "mul32"] {
                let src = format!("lddw %r7, {dst:#x}\n{op} %r7, {imm}\nmov %r0, %r7\nexit");
                let got = run(&src).unwrap();
                assert_eq!(got >> 32, 0, "{src}: upper half kept");
            }
            for op in [
                "jeq32", "jne32", "jgt32", "jge32", "jlt32", "jle32", "jsgt32", "jsge32", "jslt32",
                "jsle32", "jset32",
            ] {
                let src = format!(
                    "lddw %r3, {dst:#x}\nmov %r0, 1\n{op} %r3, {imm}, +1\nmov %r0, 2\nexit"
                );
                assert!(matches!(run(&src), Ok(1 | 2)), "{src}");
            }
        }
    }
}

/// Division and remainder by an immediate, 32 and 64 bit, signed and not, in every destination
/// register, at the divisors the JIT emits otherwise (0, and -1 for the signed ones: moves and
/// negations, the stencils assume neither) and others, `INT_MIN / -1` among them: the
/// interpreter's results on both tiers, checked and unchecked, every other register kept (on
/// x86-64 the division goes through rax and rdx, which hold r0 and r3).
#[test]
fn division_by_constants_in_every_register() {
    let check = |d: u64, op: &str, imm: i64, dst: u64| {
        let mut src = String::new();
        for r in 0..10 {
            let value = if r == d {
                dst
            } else {
                0x1111_1111_1111 * (r + 1)
            };
            src += &format!("lddw %r{r}, {value:#x}\n");
        }
        src += &format!("{op} %r{d}, {imm}\n");
        for r in 1..10 {
            src += &format!("mul %r0, 31\nxor %r0, %r{r}\n");
        }
        src += "exit";
        let prog = assemble(&src).unwrap();
        let want = Interpreter::new(prog.clone(), Helpers::conformance())
            .unwrap()
            .run(&mut []);
        assert!(want.is_ok(), "{src}");
        let checked = Jit::new(prog.clone(), Helpers::conformance()).unwrap();
        // SAFETY: the programs make no memory access.
        let unchecked =
            unsafe { Jit::unchecked(prog, Helpers::conformance(), &Default::default()) }.unwrap();
        assert_eq!(checked.run(&mut []), want, "{src}");
        assert_eq!(unchecked.run(&mut []), want, "{src} (unchecked)");
    };
    let ops = [
        "div", "mod", "sdiv", "smod", "div32", "mod32", "sdiv32", "smod32",
    ];
    let imms = [0i64, -1, 1, 2, -2, 7, i32::MIN as i64, i32::MAX as i64];
    let dsts = [
        i64::MIN as u64,
        0xdead_beef_cafe_babe,
        (-7i64) as u64,
        0x8000_0000,
    ];
    for d in 0..10 {
        for op in ops {
            for imm in imms {
                for dst in dsts {
                    check(d, op, imm, dst);
                }
            }
        }
    }
}

/// `Jit::unchecked` on every conformance program the interpreter runs to a result (so every
/// access it makes is in bounds): the same r0 and the same memory afterwards.
#[test]
fn unchecked_code_agrees_on_every_in_bounds_conformance_program() {
    use patchjit_bpf::conformance::{parse_test, test_files};
    let dir = patchjit_test_support::bpf_conformance("tests");
    let mut compared = 0;
    for path in test_files(&dir).unwrap() {
        let tc = parse_test(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Ok(prog) = tc.program() else { continue };
        let Ok(interp) = Interpreter::new(prog.clone(), Helpers::conformance()) else {
            continue;
        };
        let mut mem = tc.mem.clone();
        let Ok(want) = interp.run(&mut mem) else {
            continue;
        };
        // SAFETY: the interpreter ran this program on this input to the end with every access
        // checked, and both tiers make the same accesses.
        let jit =
            unsafe { Jit::unchecked(prog, Helpers::conformance(), &patchjit::Options::default()) }
                .unwrap();
        let mut copy = tc.mem.clone();
        assert_eq!(jit.run(&mut copy), Ok(want), "{}", path.display());
        assert_eq!(copy, mem, "{}: memory after", path.display());
        compared += 1;
    }
    assert!(compared > 250, "only {compared} programs compared");
}

extern "C" fn weigh(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a.wrapping_mul(3) ^ b.rotate_left(7) ^ c.wrapping_add(d) ^ (e << 1)
}

/// `weigh`, after overwriting every register C lets a callee overwrite (what the call must
/// keep, it must have saved).
extern "C" fn weigh_clobbering(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    // SAFETY: only registers the C ABI lets a callee overwrite, declared as outputs.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!(
            "mov r9, -1", "mov r10, -1", "mov r11, -1",
            out("r9") _, out("r10") _, out("r11") _,
        );
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!(
            "mov x9, #-1", "mov x10, #-1", "mov x11, #-1", "mov x12, #-1", "mov x13, #-1",
            "mov x14, #-1", "mov x15, #-1",
            out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _,
            out("x15") _,
        );
    }
    weigh(a, b, c, d, e)
}

extern "C" fn pass(a: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    a
}

#[test]
fn plain_helpers_are_called_directly_with_the_interpreters_results() {
    let helpers = || {
        let mut h = Helpers::conformance();
        h.register_plain(40, "weigh", weigh);
        h.register_plain(41, "pass", pass);
        h.register_plain(42, "weigh_clobbering", weigh_clobbering);
        h.set_unwind(41);
        h
    };
    let run = |src: &str| {
        let prog = assemble(src).unwrap();
        let want = Interpreter::new(prog.clone(), helpers())
            .unwrap()
            .run(&mut []);
        let got = Jit::new(prog, helpers()).unwrap().run(&mut []);
        assert_eq!(got, want, "{src}");
        got
    };
    // Arguments in r1-r5, r0 set, and r1-r5 zero after the call on both tiers (RFC 9669
    // leaves them undefined; zero is what costs the JIT least to make definite).
    let src = "mov %r1, -5\nmov %r2, 9\nmov %r3, 1\nmov %r4, 2\nmov %r5, 3\ncall 40\n\
               lddw %r6, 0x100000000\nadd %r1, %r6\nadd %r1, %r2\nadd %r1, %r3\n\
               add %r1, %r4\nadd %r1, %r5\nxor %r0, %r1\nexit";
    assert_eq!(
        run(src),
        Ok(weigh(-5i64 as u64, 9, 1, 2, 3) ^ 0x1_0000_0000)
    );
    // The same for a plain helper, a helper through the Rust side (by slot) and callx.
    for call in ["call 40", "call 2", "mov %r7, 2\ncall %r7"] {
        let src = format!(
            "mov %r1, 4\nmov %r2, 5\nmov %r3, 6\nmov %r4, 7\nmov %r5, 8\n{call}\n\
             mov %r0, %r1\nor %r0, %r2\nor %r0, %r3\nor %r0, %r4\nor %r0, %r5\nexit"
        );
        assert_eq!(run(&src), Ok(0), "{src}");
    }
    // r6-r10 survive a plain helper's call (one that overwrites every register C lets it)
    // whichever of r8 and r9 the program names (on x86-64 those two are saved around the call
    // only then: each case is another variant), also in a callee, one frame down.
    for keep in [
        "",
        "mov %r8, 30\n",
        "mov %r9, 40\n",
        "mov %r8, 30\nmov %r9, 40\n",
    ] {
        let tail = |reg: &str| {
            if keep.contains(reg) {
                format!("add %r0, {reg}\n")
            } else {
                String::new()
            }
        };
        let body = format!(
            "mov %r6, 10\nmov %r7, 20\n{keep}stxdw [%r10-8], %r7\nmov %r1, 1\ncall 42\n\
             add %r0, %r6\nadd %r0, %r7\n{}{}ldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit\n",
            tail("%r8"),
            tail("%r9")
        );
        let want = weigh(1, 0, 0, 0, 0) + 10 + 20 + 20;
        let sum = |keep: &str| {
            want + [30, 40]
                .iter()
                .zip(["%r8", "%r9"])
                .filter(|(_, r)| keep.contains(r))
                .map(|(v, _)| v)
                .sum::<u64>()
        };
        assert_eq!(run(&body), Ok(sum(keep)), "{body}");
        let nested = format!("call local f\nexit\nf:\n{body}");
        assert_eq!(run(&nested), Ok(sum(keep)), "{nested}");
    }
    // A plain helper that is the unwind helper still stops the program when it returns 0.
    assert_eq!(run("mov %r1, 0\ncall 41\nmov %r0, 7\nexit"), Ok(0));
    assert_eq!(run("mov %r1, 5\ncall 41\nmov %r0, 7\nexit"), Ok(7));
    // An id nobody registered fails when reached, at its pc, on both tiers.
    assert_eq!(
        run("mov %r0, 1\ncall 77\nexit"),
        Err(ExecError::UnknownHelper { pc: 1, id: 77 })
    );
}
