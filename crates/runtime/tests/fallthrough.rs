//! Hot-path fallthrough (`patchjit_stencils::fall_through`): branch stencils that ended in
//! `jcc CONTINUE; jmp TARGET` end in the inverse `jcc TARGET` and fall through. Checked on the
//! x86 targets' real clang output (x86-64 Linux and Windows have the shape; macOS keeps a frame
//! pointer, so both paths pop it first, and i686 has no `preserve_none`: there the pass must
//! leave the code alone), by an independent decoder (`llvm-objdump` of the emitted code
//! must show the conditional branch reaching the jump target's address), and by running loops
//! whose branch is taken and not taken.

mod support;

use patchjit_stencils::{fall_through, HoleValue, Target};

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

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod run {
    use std::process::Command;
    use std::sync::OnceLock;

    use patchjit::{Destination, Emitter, ExecutableCode, Instruction, Options, StencilTable};
    use patchjit_stencils::{fall_through, Target};

    use crate::support;

    const TARGET: Target = Target::X86_64UnknownLinuxGnu;

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
            ];
            let mut extraction = support::build(TARGET, &names);
            assert_eq!(fall_through(&mut extraction, TARGET), 1);
            support::leak_table(&extraction, TARGET)
        })
    }

    #[repr(C)]
    #[derive(Default)]
    struct State {
        sum: i64,
        error: i64,
    }

    /// `load n; top: accumulate; dec_jump_positive top; load_sum`: n + (n - 1) + ... + 1.
    fn triangle(n: i64) -> (ExecutableCode, usize) {
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
            ..op(&e, "dec_jump_positive")
        })
        .unwrap();
        e.push(op(&e, "load_sum")).unwrap();
        (e.finish(&Options::default()).unwrap(), accumulate)
    }

    #[test]
    fn loops_run_with_the_branch_taken_and_not_taken() {
        for n in [1i64, 2, 3, 1000] {
            let (code, _) = triangle(n);
            let mut state = State::default();
            // SAFETY: the shim template is `int64_t _JIT_ENTRY(State *)` with the C ABI.
            let f: extern "C" fn(*mut State) -> i64 = unsafe { code.entry() };
            assert_eq!(f(&mut state), n * (n + 1) / 2, "n = {n}");
            assert_eq!(state.error, 0);
        }
    }

    #[test]
    fn llvm_objdump_sees_the_branch_reach_its_target() {
        let (code, accumulate) = triangle(5);
        let bin = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fallthrough-{}.bin", std::process::id()));
        std::fs::write(&bin, code.code()).unwrap();
        let base = code.entry_address();
        // llvm-objdump reads objects only: wrap the bytes in one (llvm-objcopy -I binary).
        let elf = bin.with_extension("o");
        let tool = |name: &str| format!("{name}-19");
        let wrapped = Command::new(tool("llvm-objcopy"))
            .args(["-I", "binary", "-O", "elf64-x86-64"])
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
        // The branch is the last instruction of dec_jump_positive's copy, right before load_sum.
        let branch = listing
            .lines()
            .rev()
            .filter_map(|l| {
                let (address, text) = l.trim().split_once(':')?;
                let address = usize::from_str_radix(address, 16).ok()?;
                let text = text.split('<').next()?.trim();
                (dec..next).contains(&address).then(|| text.to_string())
            })
            .next()
            .expect("dec_jump_positive's code in the listing");
        assert_eq!(branch, format!("jge\t{target:#x}"), "{listing}");
    }
}
