//! x86-64 oracle: a template object is extracted and emitted by patchjit "as if" at a chosen
//! address, and linked by `ld.lld-19 --no-relax` at the same address with the same `_JIT_*`
//! values. `Rel32` and `Abs64` holes (and every unpatched byte) must be identical. GOT operands
//! (`X86_64Rel32x`) are compared by what they reach: patchjit relaxes `call [rip+slot]` to
//! `nop; call rel32` when the callee is within ±2 GiB (CPython's choice; lld would write
//! `addr32 call`, and here keeps the slot), so both are decoded to the called address.

#![cfg(target_os = "linux")]

mod support;

use patchjit::PatchKind;
use patchjit_stencils::Target;
use support::x86::reach;
use support::{values, Values};

const TARGET: Target = Target::X86_64UnknownLinuxGnu;
const CODE: u64 = 0x1000_0000;
const DATA_OFFSET: u64 = 0x1000;

/// Returns the opcode bytes patchjit chose for each GOT operand.
fn compare(name: &str, flags: &[&str], v: Values) -> Vec<[u8; 2]> {
    let support::Compiled {
        object,
        table,
        got_offset,
    } = support::compile_with_ret(TARGET, name, flags);
    let (ours, _) = support::emit_alone(table, name, v, CODE, Some(DATA_OFFSET as usize));
    let group = table.groups.iter().find(|g| g.name == name).unwrap();
    let data = CODE + DATA_OFFSET;
    let mut symbols = vec![
        ("_JIT_CONTINUE", CODE + group.code.len as u64),
        ("_JIT_JUMP_TARGET", CODE),
        ("_JIT_ERROR_TARGET", CODE),
    ];
    symbols.extend(v.symbols());
    let lld = support::link(
        name,
        &object,
        CODE,
        data,
        data + got_offset as u64,
        &symbols,
    );
    let our_read = |a: u64| {
        let at = (a - CODE) as usize;
        u64::from_le_bytes(ours[at..at + 8].try_into().unwrap())
    };
    let mut forms = Vec::new();
    let len = group.code.len as usize;
    let mut skip = vec![false; len];
    for hole in group.code.holes {
        let at = hole.offset as usize;
        if hole.patch == PatchKind::X86_64Rel32x {
            let mine = reach(&ours, at, CODE, false, &our_read);
            let theirs = reach(&lld.text, at, CODE, false, &|a| lld.read64(a));
            assert_eq!(
                mine, theirs,
                "{name}: GOT operand at {at:#x} reaches different places"
            );
            forms.push([ours[at - 2], ours[at - 1]]);
            skip[at - 2..at + 4].iter_mut().for_each(|s| *s = true);
        }
    }
    for at in 0..len {
        if !skip[at] {
            assert_eq!(
                ours[at], lld.text[at],
                "{name}: byte {at:#x} differs (holes: {:?})",
                group.code.holes
            );
        }
    }
    for at in 0..got_offset.min(group.data.len as usize) {
        let address = data + at as u64;
        let theirs = (lld.read64(address & !7) >> ((address & 7) * 8)) as u8;
        assert_eq!(
            ours[DATA_OFFSET as usize + at],
            theirs,
            "{name}: data byte {at:#x} differs"
        );
    }
    forms
}

#[test]
fn rel32_and_abs64_match_lld() {
    for name in [
        "load",
        "add",
        "dec_jump_nonzero",
        "error_if_negative",
        "jump",
        "lookup",
        "shim",
    ] {
        let forms = compare(
            name,
            &["-fno-plt"],
            values(0x1122_3344_5566_7788, CODE + 0x4000),
        );
        assert!(forms.is_empty(), "{name} has no GOT operand");
    }
}

#[test]
fn got_call_relaxed_near_and_kept_far() {
    assert_eq!(
        compare("call_helper", &["-fno-plt"], values(0, CODE + 0x7000_0000)),
        [[0x90, 0xE8]]
    );
    assert_eq!(
        compare("call_helper", &["-fno-plt"], values(0, CODE + 0x9000_0000)),
        [[0xFF, 0x15]]
    );
}

/// Narrow values are `movl $imm32` (`R_X86_64_32`/`Abs32`) holes: every extreme of each type
/// is patched as lld links it, with the value's bit pattern as the symbol's address.
#[test]
fn narrow_values_match_lld() {
    for (name, _, _, extremes) in support::NARROW_TEMPLATES {
        for value in extremes {
            let forms = compare(name, &["-fno-plt"], Values::narrow(value as u64));
            assert!(forms.is_empty(), "{name} has no GOT operand");
        }
    }
}
