//! Hot-path fallthrough (`patchjit_stencils::fall_through`): branch stencils that ended in
//! `jcc CONTINUE; jmp TARGET` end in the inverse `jcc TARGET` and fall through. Checked on the
//! x86 targets' real clang output (x86-64 Linux and Windows have the shape; macOS keeps a frame
//! pointer, so both paths pop it first, and i686 has no `preserve_none`: there the pass must
//! leave the code alone) and on AArch64 Linux's (`b.cond CONTINUE; b TARGET` → `b.!cond
//! TARGET`), by an independent decoder (`llvm-objdump` of the emitted code must show the
//! conditional branch reaching the jump target's address), and by running loops whose branch is
//! taken and not taken, natively on x86-64 and under qemu-aarch64 (`.ci/aarch64`).

mod support;

use patchjit_stencils::{fall_through, HoleValue, PatchKind, RelocKind, Target};

#[test]
fn branch_stencils_end_in_the_inverse_conditional_jump_on_x86_64() {
    for target in [Target::X86_64AppleDarwin, Target::I686PcWindowsMsvc] {
        let mut extraction = support::build(target, &["dec_jump_positive", "jump"]);
        let before = extraction.clone();
        assert_eq!(fall_through(&mut extraction, target), 0, "{target}");
        assert_eq!(extraction, before, "{target}");
    }
    for target in [Target::X86_64UnknownLinuxGnu, Target::X86_64PcWindowsMsvc] {
        let mut extraction = support::build(target, &["dec_jump_positive", "jump"]);
        let before = extraction.groups[0].code.body.len();
        assert_eq!(fall_through(&mut extraction, target), 1, "{target}");
        let code = &extraction.groups[0].code;
        assert_eq!(code.body.len(), before - 5, "{target}: the jmp is gone");
        let [.., 0x0f, cc, _, _, _, _] = code.body[..] else {
            panic!("{target}: does not end in a jcc rel32: {:x?}", code.body);
        };
        assert_eq!(
            cc, 0x8d,
            "{target}: `acc - 1 > 0` jumps with jge (was jl CONTINUE)"
        );
        let last = code.holes.last().unwrap();
        assert_eq!(last.value, HoleValue::JumpTarget, "{target}");
        assert_eq!(last.offset as usize, code.body.len() - 4, "{target}");
        assert!(
            code.holes.iter().all(|h| h.value != HoleValue::Continue),
            "{target}"
        );
        // An unconditional jump has nothing to fall through to.
        assert_eq!(extraction.groups[1].code.body[0], 0xe9, "{target}");
    }
}

#[test]
fn branch_stencils_end_in_the_inverse_conditional_branch_on_aarch64_linux() {
    let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    // Mach-O and COFF have no 19-bit branch relocation to name the new hole's kind by.
    for target in [Target::Aarch64AppleDarwin, Target::Aarch64PcWindowsMsvc] {
        let mut extraction = support::build(target, &["dec_jump_positive", "jump"]);
        let before = extraction.clone();
        assert_eq!(fall_through(&mut extraction, target), 0, "{target}");
        assert_eq!(extraction, before, "{target}");
    }
    let target = Target::Aarch64UnknownLinuxGnu;
    let names = [
        "dec_jump_positive",
        "jump",
        "dec_jump_nonzero",
        "error_if_negative",
    ];
    let mut extraction = support::build(target, &names);
    let original = extraction.clone();
    let before = extraction.groups[0].code.clone();
    assert_eq!(fall_through(&mut extraction, target), 2);
    // `subs; b.ne L; b CONTINUE; L: b JUMP_TARGET` → `subs; b.ne JUMP_TARGET`.
    let nonzero = &extraction.groups[2].code;
    assert_eq!(nonzero.body.len(), 8, "{nonzero:x?}");
    assert_eq!(word(&nonzero.body, 4), 0x5400_0001, "{nonzero:x?}");
    assert_eq!(
        (
            nonzero.holes.len(),
            nonzero.holes[0].patch,
            &nonzero.holes[0].value
        ),
        (1, PatchKind::Aarch64Branch19r, &HoleValue::JumpTarget)
    );
    // `tbnz x21, #63, L; b CONTINUE; L: b ERROR_TARGET` stays: `tbnz` reaches only ±32 KiB.
    assert_eq!(extraction.groups[3], original.groups[3]);
    assert_eq!(
        word(&extraction.groups[3].code.body, 0) & 0x7F00_0000,
        0x3700_0000
    );
    let code = &extraction.groups[0].code;
    let last = code.holes.last().unwrap();
    assert_eq!(
        (last.kind, last.patch, &last.value),
        (
            RelocKind::R_AARCH64_CONDBR19,
            PatchKind::Aarch64Branch19r,
            &HoleValue::JumpTarget
        )
    );
    // `subs; b.lt CONTINUE; b JUMP_TARGET` became `subs; b.ge JUMP_TARGET` (cond 0b1011 → 0b1010).
    let at = last.offset as usize;
    assert_eq!(
        word(&before.body, at) & 0xFF00_001F,
        0x5400_000B,
        "{before:x?}"
    );
    assert_eq!(word(&code.body, at), 0x5400_000A, "{code:x?}");
    assert_eq!(&code.body[..at], &before.body[..at]);
    assert_eq!(
        word(&before.body, at + 4),
        0x1400_0000,
        "the `b` that is gone"
    );
    let end = (at + 4).next_multiple_of(8);
    assert_eq!(
        code.body.len(),
        end,
        "the branch last, padded to the code alignment"
    );
    assert!(code.body[at + 4..]
        .chunks(4)
        .all(|n| n == [0x1f, 0x20, 0x03, 0xd5]));
    // An unconditional branch has nothing to fall through to.
    assert_eq!(word(&extraction.groups[1].code.body, 0), 0x1400_0000);
}

/// The rewritten AArch64 branch reaches ±1 MiB: a loop whose body spans exactly that is emitted,
/// one a word longer is an error naming the limit (never a truncated displacement).
#[test]
fn aarch64_branches_beyond_1_mib_are_refused() {
    use patchjit::{Destination, EmitError, Emitter, Instruction, PatchProblem};
    let target = Target::Aarch64UnknownLinuxGnu;
    let mut extraction = support::build(target, &["accumulate", "dec_jump_positive", "ret"]);
    assert_eq!(fall_through(&mut extraction, target), 1);
    let table = support::leak_table(&extraction, target);
    let (body, at) = (
        table.groups[0].code.len,
        table.groups[1].code.holes.last().unwrap().offset,
    );
    // `n` accumulates, then the branch back to the first: a distance of n * body + at.
    let emit = |n: u32| {
        let mut e = Emitter::new(table, &[]).unwrap();
        for _ in 0..n {
            e.push(Instruction::new(0)).unwrap();
        }
        e.push(Instruction {
            jump_target: Some(Destination::Instruction(0)),
            ..Instruction::new(1)
        })
        .unwrap();
        e.set_terminator(2).unwrap();
        let layout = e.layout().unwrap();
        let mut image = vec![0u8; layout.code_len() as usize + layout.data_len() as usize];
        e.emit_into(&layout, &mut image, 0x4000_0000, layout.code_len() as usize)
            .map(|()| image)
    };
    let fits = ((1 << 20) - at) / body;
    let image = emit(fits).unwrap();
    let branch = (fits * body + at) as usize;
    let word = u32::from_le_bytes(image[branch..branch + 4].try_into().unwrap());
    let displacement = (((word >> 5) & 0x7FFFF) as i32) << 13 >> 13;
    assert_eq!(4 * displacement, -(branch as i32), "{word:#x}");
    let too_far = (fits + 1) * body + at;
    assert!(too_far > 1 << 20);
    let error = emit(fits + 1).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("beyond the ±1 MiB B.cond/CBZ/CBNZ reaches"),
        "{error}"
    );
    let EmitError::Patch { error, .. } = error else {
        panic!("{error}");
    };
    assert_eq!(
        error.problem,
        PatchProblem::OutOfRange {
            bits: 21,
            signed: true,
            distance: -i64::from(too_far)
        }
    );
}

#[cfg(all(
    any(target_arch = "x86_64", target_arch = "aarch64"),
    target_os = "linux"
))]
mod run {
    use std::process::Command;
    use std::sync::OnceLock;

    use patchjit::{Destination, Emitter, ExecutableCode, Instruction, Options, StencilTable};
    use patchjit_stencils::fall_through;

    use crate::support::{self, NATIVE as TARGET};

    /// What `llvm-objcopy` calls this machine's ELF, and how `llvm-objdump` spells the
    /// rewritten branch (`acc - 1 > 0` jumps if greater or equal).
    const X86: bool = cfg!(target_arch = "x86_64");
    const ELF_FORMAT: &str = if X86 {
        "elf64-x86-64"
    } else {
        "elf64-littleaarch64"
    };
    const GE: &str = if X86 { "jge" } else { "b.ge" };

    fn table() -> &'static StencilTable {
        static TABLE: OnceLock<&'static StencilTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            let names = [
                "shim",
                "ret",
                "load",
                "accumulate",
                "load_sum",
                "dec_jump_positive",
                "dec_jump_nonzero",
            ];
            let mut extraction = support::build(TARGET, &names);
            // x86-64's `dec_jump_nonzero` is `dec; jne JUMP_TARGET` already; AArch64's was
            // `subs; b.ne L; b CONTINUE; L: b JUMP_TARGET`.
            let rewritten = if X86 { 1 } else { 2 };
            assert_eq!(fall_through(&mut extraction, TARGET), rewritten);
            support::leak_table(&extraction, TARGET)
        })
    }

    #[repr(C)]
    #[derive(Default)]
    struct State {
        sum: i64,
        error: i64,
    }

    /// `load n; top: accumulate; <branch> top; load_sum`: n + (n - 1) + ... + 1, for `branch`
    /// `dec_jump_positive` or `dec_jump_nonzero` (n ≥ 1).
    fn triangle(n: i64, branch: &str) -> (ExecutableCode, usize) {
        let mut e = Emitter::new(table(), &[]).unwrap();
        e.set_shim(e.group("shim").unwrap()).unwrap();
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let op = |e: &Emitter<'_>, name: &str| Instruction::new(e.group(name).unwrap());
        e.push(Instruction {
            operand0: n as u64,
            ..op(&e, "load")
        })
        .unwrap();
        let top = e.label().unwrap();
        e.bind(top).unwrap();
        let accumulate = e.push(op(&e, "accumulate")).unwrap();
        e.push(Instruction {
            jump_target: Some(Destination::Label(top)),
            ..op(&e, branch)
        })
        .unwrap();
        e.push(op(&e, "load_sum")).unwrap();
        (e.finish(&Options::default()).unwrap(), accumulate)
    }

    #[test]
    fn loops_run_with_the_branch_taken_and_not_taken() {
        for (n, branch) in [1i64, 2, 3, 1000]
            .into_iter()
            .flat_map(|n| [(n, "dec_jump_positive"), (n, "dec_jump_nonzero")])
        {
            let (code, _) = triangle(n, branch);
            let mut state = State::default();
            // SAFETY: the shim template is `int64_t _JIT_ENTRY(State *)` with the C ABI.
            let f: extern "C" fn(*mut State) -> i64 = unsafe { code.entry() };
            assert_eq!(f(&mut state), n * (n + 1) / 2, "{branch}, n = {n}");
            assert_eq!(state.error, 0);
        }
    }

    #[test]
    fn llvm_objdump_sees_the_branch_reach_its_target() {
        let (code, accumulate) = triangle(5, "dec_jump_positive");
        let bin = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fallthrough-{}.bin", std::process::id()));
        std::fs::write(&bin, code.code()).unwrap();
        let base = code.entry_address();
        // llvm-objdump reads objects only: wrap the bytes in one (llvm-objcopy -I binary).
        let elf = bin.with_extension("o");
        let tool = |name: &str| format!("{name}-19");
        let wrapped = Command::new(tool("llvm-objcopy"))
            .args(["-I", "binary", "-O", ELF_FORMAT])
            .args([&bin, &elf])
            .status()
            .expect("llvm-objcopy-19 runs");
        assert!(wrapped.success());
        let out = Command::new(tool("llvm-objdump"))
            .args(["-D", "--no-show-raw-insn"])
            .arg(format!("--adjust-vma={base:#x}"))
            .arg(&elf)
            .output()
            .expect("llvm-objdump-19 runs");
        std::fs::remove_file(&bin).unwrap();
        std::fs::remove_file(&elf).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        let target = code.instruction_start(accumulate).unwrap();
        let dec = code.instruction_start(accumulate + 1).unwrap();
        let next = code.instruction_start(accumulate + 2).unwrap();
        // The branch is the last instruction of dec_jump_positive's copy (but for AArch64's NOP
        // padding), right before load_sum.
        let branch = listing
            .lines()
            .rev()
            .filter_map(|l| {
                let (address, text) = l.trim().split_once(':')?;
                let address = usize::from_str_radix(address, 16).ok()?;
                let text = text.split('<').next()?.trim();
                (dec..next).contains(&address).then(|| text.to_string())
            })
            .find(|text| text != "nop")
            .expect("dec_jump_positive's code in the listing");
        assert_eq!(branch, format!("{GE}\t{target:#x}"), "{listing}");
    }
}
