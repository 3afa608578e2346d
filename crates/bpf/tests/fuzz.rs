//! Property tests: the assembler, verifier, disassembler, interpreter and ELF loader never
//! panic on arbitrary input, random valid programs round-trip through the disassembler,
//! memory accesses succeed exactly when in bounds, and both tiers agree on random programs
//! (with loops, under a budget). Case counts are kept small for CI.

#[cfg(bpf_jit)]
mod common;

use proptest::prelude::*;

use patchjit_bpf::asm::assemble;
use patchjit_bpf::disasm::disassemble;
use patchjit_bpf::elf;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::{
    AluOp, AtomicOp, ByteOrder, Cond, Instruction, Operand, RawInsn, Size, Width,
};
#[cfg(bpf_jit)]
use patchjit_bpf::jit::Jit;
use patchjit_bpf::verifier::verify;
use patchjit_bpf::vm::{ExecError, Helpers, MAX_CALL_DEPTH};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FRAGMENTS: &[&str] = &[
    "mov",
    "mov32",
    "add",
    "lddw",
    "ldxb",
    "stxdw",
    "lock",
    "fetch",
    "cmpxchg",
    "call",
    "local",
    "ja",
    "ja32",
    "jne",
    "exit",
    "%r0",
    "%r1",
    "%r10",
    "%r11",
    "[%r10-8]",
    "[%r1+0x10000]",
    "[",
    "]",
    ",",
    "0x",
    "-",
    "+",
    "1",
    "0xffffffff",
    "99999999999999999999",
    "lbl:",
    "lbl",
    ":",
    "#",
    "\n",
    " ",
    "movsx832",
    "be16",
    "neg",
    "-- raw",
];

fn source() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.join(" "))
}

fn reg() -> impl Strategy<Value = u8> {
    0u8..10
}

/// Any immediate, with the edge values (0, ±1, the extremes, the shift counts either side of
/// 32 and 64) often: division by 0, shifts by 0 or by the width and sign extension of
/// `i32::MIN` are where tiers have disagreed.
fn immediate() -> BoxedStrategy<i32> {
    prop_oneof![
        3 => any::<i32>(),
        1 => prop::sample::select(vec![0, 1, -1, i32::MIN, i32::MAX, 31, 32, 63, 64]),
    ]
    .boxed()
}

/// A register among `regs`, or any immediate.
fn operand_over(regs: BoxedStrategy<u8>) -> BoxedStrategy<Operand> {
    prop_oneof![
        regs.prop_map(Operand::Reg),
        immediate().prop_map(Operand::Imm)
    ]
    .boxed()
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W), Just(Size::DW)]
}

/// A straight-line instruction (no control flow) with stack accesses in bounds.
fn straight() -> impl Strategy<Value = Instruction> {
    straight_over(reg().boxed())
}

/// [`straight`] over the registers `regs` only.
fn straight_over(regs: BoxedStrategy<u8>) -> impl Strategy<Value = Instruction> {
    let operand = operand_over(regs.clone());
    let stack_off = (1i16..=64).prop_map(|k| -8 * k);
    prop_oneof![
        (
            width(),
            prop::sample::select(AluOp::ALL.to_vec()),
            regs.clone(),
            operand.clone()
        )
            .prop_map(|(width, op, dst, src)| Instruction::Alu {
                width,
                op,
                dst,
                src
            }),
        (width(), regs.clone()).prop_map(|(width, dst)| Instruction::Neg { width, dst }),
        (
            regs.clone(),
            regs.clone(),
            prop::sample::select(vec![8u8, 16, 32])
        )
            .prop_map(|(dst, src, bits)| {
                Instruction::MovSx {
                    width: Width::W64,
                    dst,
                    src,
                    bits,
                }
            }),
        (
            prop::sample::select(vec![ByteOrder::Le, ByteOrder::Be, ByteOrder::Swap]),
            regs.clone(),
            prop::sample::select(vec![16u8, 32, 64])
        )
            .prop_map(|(order, dst, bits)| Instruction::End { order, dst, bits }),
        (regs.clone(), any::<u64>()).prop_map(|(dst, imm)| Instruction::LoadImm64 { dst, imm }),
        (size(), regs.clone(), stack_off.clone(), any::<bool>()).prop_map(
            |(size, dst, off, signed)| {
                Instruction::Load {
                    size,
                    signed: signed && size != Size::DW,
                    dst,
                    src: 10,
                    off,
                }
            }
        ),
        (size(), stack_off.clone(), operand.clone()).prop_map(|(size, off, value)| {
            Instruction::Store {
                size,
                dst: 10,
                off,
                value,
            }
        }),
        (
            prop::sample::select(AtomicOp::ALL.to_vec()),
            any::<bool>(),
            regs.clone(),
            stack_off,
            any::<bool>()
        )
            .prop_map(|(op, wide, src, off, fetch)| Instruction::Atomic {
                size: if wide { Size::DW } else { Size::W },
                op,
                fetch: fetch || op.always_fetches(),
                dst: 10,
                src,
                off,
            }),
    ]
}

/// A program of straight-line code with forward conditional jumps and a final exit.
fn program() -> impl Strategy<Value = Vec<RawInsn>> {
    program_over(straight().boxed(), reg().boxed())
}

/// [`program`] from the instructions `insns`, with jumps comparing the registers `regs`.
fn program_over(
    insns: BoxedStrategy<Instruction>,
    regs: BoxedStrategy<u8>,
) -> impl Strategy<Value = Vec<RawInsn>> {
    let operand = operand_over(regs.clone());
    prop::collection::vec(
        (
            insns,
            any::<bool>(),
            width(),
            prop::sample::select(Cond::ALL.to_vec()),
            regs,
            operand,
        ),
        1..40,
    )
    .prop_map(|items| {
        let mut out = Vec::new();
        let n = items.len();
        for (k, (ins, jump, width, cond, dst, src)) in items.into_iter().enumerate() {
            ins.encode_into(&mut out);
            if jump && k + 1 < n {
                // Skip forward over the next instruction's slots (may be a lddw).
                Instruction::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    off: 0,
                }
                .encode_into(&mut out);
            }
        }
        Instruction::Exit.encode_into(&mut out);
        // Resolve every placeholder jump to the final exit.
        let last = out.len() - 1;
        for (pc, slot) in out.iter_mut().enumerate() {
            if matches!(slot.opcode & 7, 5 | 6) && !matches!(slot.opcode, 0x85 | 0x8d | 0x95) {
                slot.off = (last - pc - 1) as i16;
            }
        }
        out
    })
}

/// The `i16` offsets at the extremes and their neighbours: the sign extension a tier must get
/// right.
const EXTREME_OFFSETS: [i16; 6] = [i16::MIN, i16::MIN + 1, -1, 1, i16::MAX - 7, i16::MAX];

/// A small offset (so that jumps often land inside the program), or an extreme one.
fn small_or_extreme_offset() -> BoxedStrategy<i16> {
    prop_oneof![3 => -3i16..3, 1 => prop::sample::select(EXTREME_OFFSETS.to_vec())].boxed()
}

fn vm(prog: Vec<RawInsn>) -> Option<Interpreter> {
    let mut vm = Interpreter::new(prog, Helpers::conformance()).ok()?;
    vm.set_budget(Some(10_000));
    Some(vm)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn assembler_never_panics(src in source()) {
        let _ = assemble(&src);
    }

    #[test]
    fn random_words_never_panic(
        words in prop::collection::vec(any::<u64>(), 0..32),
        fields in prop::collection::vec((any::<u8>(), 0u8..12, 0u8..12, small_or_extreme_offset(), -70i32..70), 0..32),
        mem in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let _ = vm(words.into_iter().map(RawInsn::from_word).collect());
        // Small field values so that a good share of programs pass the verifier and run.
        let mut prog: Vec<RawInsn> = fields
            .into_iter()
            .map(|(op, dst, src, off, imm)| RawInsn::new(op, dst, src, off, imm))
            .collect();
        prog.push(RawInsn::new(0x95, 0, 0, 0, 0));
        let _ = disassemble(&prog);
        if let Some(vm) = vm(prog) {
            let mut mem = mem;
            let _ = vm.run(&mut mem);
        }
    }

    #[test]
    fn random_valid_programs_verify_run_and_round_trip(prog in program()) {
        verify(&prog).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = disassemble(&prog).unwrap();
        prop_assert_eq!(assemble(&text).unwrap(), prog.clone(), "{}", text);
        let vm = vm(prog).unwrap();
        // Straight-line, forward-only code with in-bounds stack accesses cannot fault.
        prop_assert!(vm.run(&mut [0u8; 16]).is_ok());
    }

    #[test]
    fn loads_succeed_exactly_in_bounds(len in 0usize..64, off in -80i16..80, size in size()) {
        let prog = vec![
            Instruction::Load { size, signed: false, dst: 0, src: 1, off }.encode().0,
            Instruction::Exit.encode().0,
        ];
        let vm = vm(prog).unwrap();
        let mut mem: Vec<u8> = (0..len as u8).collect();
        let in_bounds = off >= 0 && off as usize + size.bytes() <= len;
        match vm.run(&mut mem) {
            // Outside the input the address may still fall in the (zeroed) stack, which
            // the program may also access; anything else must fault.
            Ok(v) if !in_bounds => prop_assert_eq!(v, 0),
            Ok(v) => {
                let mut w = [0u8; 8];
                w[..size.bytes()].copy_from_slice(&mem[off as usize..off as usize + size.bytes()]);
                prop_assert_eq!(v, u64::from_le_bytes(w));
            }
            Err(ExecError::OutOfBounds { pc: 0, .. }) => prop_assert!(!in_bounds),
            Err(e) => prop_assert!(false, "unexpected error {}", e),
        }
    }

    #[test]
    fn verifier_accepts_exactly_acyclic_shallow_call_graphs(
        calls in prop::collection::vec(prop::collection::vec(0usize..14, 0..3), 1..14),
    ) {
        let n = calls.len();
        let mut src = String::new();
        for (f, callees) in calls.iter().enumerate() {
            src += &format!("f{f}:\n");
            for &g in callees {
                src += &format!("call local f{}\n", g % n);
            }
            src += "mov %r0, 1\nexit\n";
        }
        // The verifier's functions start at slot 0 and at call targets: a label that is
        // never called belongs to the function before it (even when unreachable).
        let mut is_entry = vec![false; n];
        is_entry[0] = true;
        for callees in &calls {
            for &g in callees {
                is_entry[g % n] = true;
            }
        }
        let mut edges = vec![Vec::new(); n];
        let mut owner = 0;
        for (f, callees) in calls.iter().enumerate() {
            if is_entry[f] {
                owner = f;
            }
            edges[owner].extend(callees.iter().map(|g| g % n));
        }
        // Frames needed from `f`; None for a cycle.
        fn depth(f: usize, edges: &[Vec<usize>], chain: &mut Vec<usize>) -> Option<usize> {
            if chain.contains(&f) {
                return None;
            }
            chain.push(f);
            let mut d = 1;
            for &g in &edges[f] {
                d = d.max(1 + depth(g, edges, chain)?);
            }
            chain.pop();
            Some(d)
        }
        let expected_ok = depth(0, &edges, &mut Vec::new()).is_some_and(|d| d <= MAX_CALL_DEPTH);
        let prog = assemble(&src).unwrap();
        prop_assert_eq!(verify(&prog).is_ok(), expected_ok, "{}", src);
        if let Some(vm) = vm(prog) {
            prop_assert_eq!(vm.run(&mut []), Ok(1));
        }
    }

    #[test]
    fn elf_loader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512), flips in prop::collection::vec((0usize..4096, any::<u8>()), 0..16)) {
        let _ = elf::load(&bytes, None);
        // Mutations of a valid object header.
        let mut obj = valid_object();
        for (at, v) in flips {
            let n = obj.len();
            obj[at % n] = v;
        }
        let _ = elf::load(&obj, None);
    }
}

/// A minimal eBPF ELF object (`r0 = 1; exit` in `.text`, global `entry`), built by hand.
fn valid_object() -> Vec<u8> {
    let code: Vec<u8> = [0x00000001_000000b7u64, 0x95]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let shstr = b"\0.text\0.symtab\0.strtab\0.shstrtab\0";
    let strtab = b"\0entry\0";
    let mut sym = vec![0u8; 24];
    let mut entry = vec![0u8; 24];
    entry[0..4].copy_from_slice(&1u32.to_le_bytes());
    entry[4] = 0x12; // STB_GLOBAL, STT_FUNC
    entry[6..8].copy_from_slice(&1u16.to_le_bytes());
    entry[16..24].copy_from_slice(&16u64.to_le_bytes());
    sym.extend(entry);
    let mut out = vec![0u8; 64];
    let place = |data: &[u8], out: &mut Vec<u8>| {
        while !out.len().is_multiple_of(8) {
            out.push(0);
        }
        let at = out.len();
        out.extend_from_slice(data);
        at
    };
    let text_at = place(&code, &mut out);
    let sym_at = place(&sym, &mut out);
    let str_at = place(strtab, &mut out);
    let shstr_at = place(shstr, &mut out);
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
    let shoff = out.len();
    let sh = |name: u32,
              ty: u32,
              flags: u64,
              off: usize,
              size: usize,
              link: u32,
              info: u32,
              align: u64,
              entsize: u64| {
        let mut h = Vec::with_capacity(64);
        h.extend(name.to_le_bytes());
        h.extend(ty.to_le_bytes());
        h.extend(flags.to_le_bytes());
        h.extend(0u64.to_le_bytes());
        h.extend((off as u64).to_le_bytes());
        h.extend((size as u64).to_le_bytes());
        h.extend(link.to_le_bytes());
        h.extend(info.to_le_bytes());
        h.extend(align.to_le_bytes());
        h.extend(entsize.to_le_bytes());
        h
    };
    out.extend(vec![0u8; 64]);
    out.extend(sh(1, 1, 0x6, text_at, code.len(), 0, 0, 8, 0));
    out.extend(sh(7, 2, 0, sym_at, sym.len(), 3, 1, 8, 24));
    out.extend(sh(15, 3, 0, str_at, strtab.len(), 0, 0, 1, 0));
    out.extend(sh(23, 3, 0, shstr_at, shstr.len(), 0, 0, 1, 0));
    out[0..4].copy_from_slice(b"\x7fELF");
    out[4] = 2; // 64-bit
    out[5] = 1; // little-endian
    out[6] = 1;
    out[16..18].copy_from_slice(&1u16.to_le_bytes()); // ET_REL
    out[18..20].copy_from_slice(&247u16.to_le_bytes()); // EM_BPF
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
    out[52..54].copy_from_slice(&64u16.to_le_bytes());
    out[58..60].copy_from_slice(&64u16.to_le_bytes());
    out[60..62].copy_from_slice(&5u16.to_le_bytes());
    out[62..64].copy_from_slice(&4u16.to_le_bytes());
    out
}

#[test]
fn hand_built_object_loads_and_runs() {
    let prog = elf::load(&valid_object(), None).unwrap();
    let vm = Interpreter::new(prog, Helpers::new()).unwrap();
    assert_eq!(vm.run(&mut []).unwrap(), 1);
}

/// Registers of the differential programs: all but r6, which holds the input's address (so no
/// result or branch depends on where the input happens to be) and r10.
#[cfg(bpf_jit)]
fn plain_reg() -> BoxedStrategy<u8> {
    prop::sample::select(vec![0u8, 1, 2, 3, 4, 5, 7, 8, 9]).boxed()
}

/// Programs with control flow anywhere: straight-line code over r0-r9 (and the stack), plus
/// conditional and unconditional jumps and local calls to any instruction (backward ones make
/// loops, often endless), helper calls and exits.
#[cfg(bpf_jit)]
fn looping() -> impl Strategy<Value = Vec<RawInsn>> {
    let regs = || (0u8..10).boxed();
    let item = (
        0u8..12,
        straight_over(regs()),
        any::<prop::sample::Index>(),
        (width(), prop::sample::select(Cond::ALL.to_vec())),
        regs(),
        operand_over(regs()),
        prop::sample::select(vec![0, 1, 2, 3, 5, 77]),
    );
    prop::collection::vec(item, 1..24).prop_map(|items| {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        let mut targets = Vec::new();
        for (kind, ins, target, (width, cond), dst, src, id) in items {
            starts.push(out.len());
            let ins = match kind {
                0..=5 => ins,
                6 | 7 => Instruction::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    off: 0,
                },
                8 => Instruction::Ja {
                    long: false,
                    off: 0,
                },
                9 => Instruction::CallLocal { off: 0 },
                10 => Instruction::CallHelper { id },
                _ => Instruction::Exit,
            };
            if (6..=9).contains(&kind) {
                targets.push((out.len(), target));
            }
            ins.encode_into(&mut out);
        }
        Instruction::Exit.encode_into(&mut out);
        for (pc, target) in targets {
            let delta = starts[target.index(starts.len())] as i64 - pc as i64 - 1;
            let slot = &mut out[pc];
            if slot.opcode == 0x85 {
                slot.imm = delta as i32;
            } else {
                slot.off = delta as i16;
            }
        }
        out
    })
}

/// Bytes of input either side of r6 in a wide run: every `i16` offset from r6, of any access
/// size, stays inside the input.
#[cfg(bpf_jit)]
const WIDE_MARGIN: usize = 32768;

/// Straight-line code as in [`straight`], plus loads, stores and atomics through r6 and helper
/// calls (gather_bytes, memfrob with r1 as the pointer, sqrti, unwind, and an unknown id).
/// Narrow (`wide` false): r6 is a 16-byte input and the offsets lie near it, in bounds or
/// not. Wide: r6 is [`WIDE_MARGIN`] bytes inside a larger input and the offsets also take the
/// `i16` extremes, always in bounds — a far offset out of bounds could land in either tier's
/// own stack, which lie at different addresses.
#[cfg(bpf_jit)]
fn risky(wide: bool) -> BoxedStrategy<Instruction> {
    let off = if wide {
        prop_oneof![3 => -6i16..22, 1 => prop::sample::select(EXTREME_OFFSETS.to_vec())].boxed()
    } else {
        (-6i16..22).boxed()
    };
    prop_oneof![
        4 => straight_over(plain_reg()),
        1 => (size(), plain_reg(), off.clone(), any::<bool>()).prop_map(|(size, dst, off, signed)| {
            Instruction::Load { size, signed: signed && size != Size::DW, dst, src: 6, off }
        }),
        1 => (size(), off.clone(), operand_over(plain_reg())).prop_map(|(size, off, value)| {
            Instruction::Store { size, dst: 6, off, value }
        }),
        1 => (prop::sample::select(AtomicOp::ALL.to_vec()), any::<bool>(), plain_reg(), off)
            .prop_map(|(op, wide, src, off)| Instruction::Atomic {
                size: if wide { Size::DW } else { Size::W },
                op,
                fetch: op.always_fetches(),
                dst: 6,
                src,
                off,
            }),
        1 => prop::sample::select(vec![0, 1, 3, 5, 7]).prop_map(|id| Instruction::CallHelper { id }),
    ]
    .boxed()
}

#[cfg(bpf_jit)]
proptest! {
    #![proptest_config(config())]

    /// Both tiers give the same r0 or the same error, and leave the input memory alike.
    #[test]
    fn jit_matches_the_interpreter(
        (wide, body) in any::<bool>().prop_flat_map(|wide| (Just(wide), program_over(risky(wide), plain_reg()))),
        bytes in prop::collection::vec(any::<u8>(), 16),
    ) {
        // Prologue: r6 = the 16 random bytes' address, r1 = 0. A wide input puts them
        // `WIDE_MARGIN` bytes in, between patterned bytes.
        let (margin, mem) = if wide {
            let mut mem: Vec<u8> = (0..2 * WIDE_MARGIN + 16).map(|k| (k % 251) as u8).collect();
            mem[WIDE_MARGIN..WIDE_MARGIN + 16].copy_from_slice(&bytes);
            (WIDE_MARGIN as i32, mem)
        } else {
            (0, bytes)
        };
        let mut prog = Vec::new();
        Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: 6, src: Operand::Reg(1) }
            .encode_into(&mut prog);
        Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: 6, src: Operand::Imm(margin) }
            .encode_into(&mut prog);
        Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: 1, src: Operand::Imm(0) }
            .encode_into(&mut prog);
        // The body's jumps are relative, so the prologue leaves them valid.
        prog.extend(body);
        let interp = Interpreter::new(prog.clone(), Helpers::conformance()).unwrap();
        let jit = Jit::new(prog, Helpers::conformance()).unwrap();
        let (mut a, mut b) = (mem.clone(), mem);
        let (base_a, base_b) = (a.as_ptr() as u64, b.as_ptr() as u64);
        // Only r6, the input's address, reaches memory; helper pointers come from
        // address-free registers, so only out-of-bounds reports carry an input address.
        let want = common::relative(interp.run(&mut a), base_a);
        let got = common::relative(jit.run(&mut b), base_b);
        prop_assert_eq!(got, want);
        prop_assert_eq!(a, b);
    }

    /// Random programs that pass the verifier — backward jumps, local calls, helpers and all —
    /// give the same result, memory and budget stop on both tiers under the same budget.
    /// Registers are r0-r9 only and both tiers run on the same input buffer, so no result
    /// depends on where a stack or an input happens to be.
    #[test]
    fn budgeted_random_programs_agree(
        prog in looping(),
        mem in prop::collection::vec(any::<u8>(), 0..16),
        budget in 0u64..40,
    ) {
        let Ok(mut interp) = Interpreter::new(prog.clone(), Helpers::conformance()) else {
            return Ok(());
        };
        interp.set_budget(Some(budget));
        let options = patchjit::Options::default();
        let jit = Jit::with_budget(prog, Helpers::conformance(), &options, budget).unwrap();
        let mut buffer = mem.clone();
        let want = interp.run(&mut buffer);
        let after = buffer.clone();
        buffer.copy_from_slice(&mem);
        prop_assert_eq!(jit.run(&mut buffer), want);
        prop_assert_eq!(buffer, after);
    }
}
