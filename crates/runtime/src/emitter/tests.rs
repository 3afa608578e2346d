use super::check::host_runs;
use super::*;
use crate::patch::PatchError;
use crate::stencil::{Hole, HoleValue, Stencil};

const fn hole(
    offset: u32,
    patch: PatchKind,
    value: HoleValue,
    symbol: Option<u16>,
    addend: i64,
) -> Hole {
    Hole {
        offset,
        patch,
        value,
        symbol,
        addend,
    }
}

const EMPTY: Stencil = Stencil {
    len: 0,
    body: &[],
    holes: &[],
};

/// Hand-assembled x86-64 groups: rax is the accumulator, the entry is called as
/// `extern "sysv64" fn() -> u64`.
static GROUPS: &[StencilGroup] = &[
    // movabs rax, OPERAND0; jmp CONTINUE
    StencilGroup {
        name: "load",
        data_align: 8,
        code: Stencil {
            len: 15,
            body: &[0x48, 0xB8, 0, 0, 0, 0, 0, 0, 0, 0, 0xE9],
            holes: &[
                hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0),
                hole(11, PatchKind::Rel32, HoleValue::Continue, None, -4),
            ],
        },
        data: EMPTY,
    },
    // movabs rcx, OPERAND0; add rax, rcx; jmp CONTINUE
    StencilGroup {
        name: "add",
        data_align: 8,
        code: Stencil {
            len: 18,
            body: &[0x48, 0xB9, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x01, 0xC8, 0xE9],
            holes: &[
                hole(2, PatchKind::Abs64, HoleValue::Operand0, None, 0),
                hole(14, PatchKind::Rel32, HoleValue::Continue, None, -4),
            ],
        },
        data: EMPTY,
    },
    // test rax, rax; jz JUMP_TARGET; jmp CONTINUE
    StencilGroup {
        name: "jump_if_zero",
        data_align: 8,
        code: Stencil {
            len: 14,
            body: &[0x48, 0x85, 0xC0, 0x0F, 0x84, 0, 0, 0, 0, 0xE9],
            holes: &[
                hole(5, PatchKind::Rel32, HoleValue::JumpTarget, None, -4),
                hole(10, PatchKind::Rel32, HoleValue::Continue, None, -4),
            ],
        },
        data: EMPTY,
    },
    // mov rdi, rax; sub rsp, 8; call [rip + GOT(helper)]; add rsp, 8; jmp CONTINUE
    // (the stack is realigned to 16 bytes for the call); data: GOT slot
    StencilGroup {
        name: "call",
        data_align: 8,
        code: Stencil {
            len: 22,
            body: &[
                0x48, 0x89, 0xC7, 0x48, 0x83, 0xEC, 0x08, 0xFF, 0x15, 0, 0, 0, 0, 0x48, 0x83, 0xC4,
                0x08, 0xE9,
            ],
            holes: &[
                hole(9, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4),
                hole(18, PatchKind::Rel32, HoleValue::Continue, None, -4),
            ],
        },
        data: Stencil {
            len: 8,
            body: &[],
            holes: &[hole(0, PatchKind::Abs64, HoleValue::Zero, Some(0), 0)],
        },
    },
    // ret
    StencilGroup {
        name: "ret",
        data_align: 8,
        code: Stencil {
            len: 1,
            body: &[0xC3],
            holes: &[],
        },
        data: EMPTY,
    },
];

/// The hand-assembled code is ABI-neutral (the helper is `sysv64` everywhere), so the table
/// names the host's x86-64 triple.
static TABLE: StencilTable = StencilTable {
    target: if cfg!(windows) {
        "x86_64-pc-windows-msvc"
    } else {
        "x86_64-unknown-linux-gnu"
    },
    groups: GROUPS,
    symbols: &["double_it"],
    custom_values: &[],
};

#[cfg(target_arch = "x86_64")]
extern "sysv64" fn double_it(x: u64) -> u64 {
    x * 2
}

fn ins(e: &Emitter, name: &str, operand0: u64) -> Instruction {
    Instruction {
        operand0,
        ..Instruction::new(e.group(name).unwrap())
    }
}

#[cfg(target_arch = "x86_64")]
fn run(e: Emitter, options: &Options) -> u64 {
    let code = e.finish(options).unwrap();
    // SAFETY: the hand-assembled program is a function returning rax that follows the System V
    // convention (it clobbers rdi, which Windows callers expect preserved).
    let f: extern "sysv64" fn() -> u64 = unsafe { code.entry() };
    f()
}

#[cfg(target_arch = "x86_64")]
#[test]
fn runs_arithmetic_branches_and_a_helper_call() {
    let resolver = [("double_it", double_it as *const () as usize)];
    for (start, expected) in [(5, (5 + 1) * 2 + 100), (0, 100)] {
        let mut e = Emitter::new(&TABLE, &resolver).unwrap();
        let skip = e.label().unwrap();
        let load = ins(&e, "load", start);
        e.push(load).unwrap();
        let mut jz = ins(&e, "jump_if_zero", 0);
        jz.jump_target = Some(Destination::Label(skip));
        e.push(jz).unwrap();
        let add = ins(&e, "add", 1);
        e.push(add).unwrap();
        let call = ins(&e, "call", 0);
        e.push(call).unwrap();
        e.bind(skip).unwrap();
        let add = ins(&e, "add", 100);
        e.push(add).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        assert_eq!(run(e, &Options::default()), expected);
    }
}

/// The listing shows the patched, relaxed code under each instruction's name.
#[cfg(all(feature = "disassemble", target_arch = "x86_64"))]
#[test]
fn disassembly_of_emitted_code() {
    let resolver = [("double_it", double_it as *const () as usize)];
    let mut e = Emitter::new(&TABLE, &resolver).unwrap();
    let load = ins(&e, "load", 5);
    e.push(load).unwrap();
    let call = ins(&e, "call", 0);
    e.push(call).unwrap();
    let ret = ins(&e, "ret", 0);
    e.push(ret).unwrap();
    let code = e
        .finish(&Options {
            placement: crate::Placement::Near(
                ((double_it as *const () as usize) + (512 << 20)) & !0xFFFF,
            ),
            ..Options::default()
        })
        .unwrap();
    let listing = code.disassemble();
    let lines: Vec<&str> = listing.lines().collect();
    let at = |i: usize| code.instruction_start(i).unwrap();
    assert_eq!(lines[0], "patchjit:0:load:", "{listing}");
    assert!(
        lines[1].starts_with(&format!("  {:>6x}: 48 b8 05 00", at(0))),
        "{listing}"
    );
    assert!(lines[1].ends_with("mov rax,5"), "{listing}");
    assert!(lines.contains(&"patchjit:1:call:"), "{listing}");
    // The GOT call was relaxed to `nop; call rel32` straight to the helper.
    let call_line = lines.iter().find(|l| l.contains(" call ")).expect("a call");
    assert!(
        call_line.ends_with(&format!("call {:016X}h", double_it as *const () as usize)),
        "{listing}"
    );
    assert_eq!(
        lines.last().map(|l| l.ends_with("ret")),
        Some(true),
        "{listing}"
    );
}

#[test]
fn missing_destinations_symbols_and_fall_through_are_errors() {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let jz = ins(&e, "jump_if_zero", 0);
    e.push(jz).unwrap();
    let ret = ins(&e, "ret", 0);
    e.push(ret).unwrap();
    let layout = e.layout().unwrap();
    let mut buf = vec![0u8; 4096];
    let err = e.emit_into(&layout, &mut buf, 0x1000, 64).unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::MissingDestination {
                branch: BranchKind::Jump,
                ..
            }
        ),
        "{err}"
    );

    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let call = ins(&e, "call", 0);
    e.push(call).unwrap();
    let ret = ins(&e, "ret", 0);
    e.push(ret).unwrap();
    let err = e
        .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::UnresolvedSymbol {
                symbol: "double_it",
                ..
            }
        ),
        "{err}"
    );

    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let add = ins(&e, "add", 0);
    e.push(add).unwrap();
    let err = e
        .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::FallsOffEnd {
                site: Site {
                    instruction: Some(0),
                    ..
                }
            }
        ),
        "{err}"
    );
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    e.emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
        .unwrap();

    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let label = e.label().unwrap();
    let mut jz = ins(&e, "jump_if_zero", 0);
    jz.jump_target = Some(Destination::Label(label));
    e.push(jz).unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let err = e
        .emit_into(&e.layout().unwrap(), &mut buf, 0x1000, 64)
        .unwrap_err();
    assert!(matches!(err, EmitError::BadDestination { .. }), "{err}");
    assert!(matches!(
        e.push(Instruction::new(99)),
        Err(EmitError::NoSuchGroup { group: 99 })
    ));
}

#[test]
fn far_helper_keeps_the_indirect_call() {
    let mut e = Emitter::new(&TABLE, &[("double_it", 0x7000_0000_0000)]).unwrap();
    let call = ins(&e, "call", 0);
    e.push(call).unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let layout = e.layout().unwrap();
    let mut buf = vec![0u8; 64];
    e.emit_into(&layout, &mut buf, 0x1000, 32).unwrap();
    assert_eq!(
        &buf[7..9],
        &[0xFF, 0x15],
        "helper far away: call stays indirect"
    );
    assert_eq!(
        &buf[32..40],
        &0x7000_0000_0000u64.to_le_bytes(),
        "GOT slot holds the helper"
    );
    assert_eq!(
        i32::from_le_bytes(buf[9..13].try_into().unwrap()),
        32 - 13,
        "call [rip+slot]"
    );
}

/// Hand-made hostile groups, each refused on first use with the rule it breaks, before a
/// byte is written: none may make a patch touch another stencil's bytes.
#[test]
fn bad_tables_are_rejected() {
    const fn code(len: u32, body: &'static [u8], holes: &'static [Hole]) -> Stencil {
        Stencil { len, body, holes }
    }
    const fn group(name: &'static str, code: Stencil, data: Stencil) -> StencilGroup {
        StencilGroup {
            name,
            code,
            data,
            data_align: 8,
        }
    }
    const REL32X_SLOT: &[Hole] = &[hole(0, PatchKind::Abs64, HoleValue::Code, None, 0)];
    static BAD: &[StencilGroup] = &[
        group(
            "past_end",
            code(
                4,
                &[0; 4],
                &[hole(2, PatchKind::Rel32, HoleValue::Zero, None, 0)],
            ),
            EMPTY,
        ),
        // `X86_64Rel32x` relaxes the two bytes before its offset: at offset 0 or 1 those
        // are the previous stencil's (say, one ending in `FF 15`).
        group(
            "rel32x_at_0",
            code(
                4,
                &[],
                &[hole(0, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4)],
            ),
            code(8, &[], REL32X_SLOT),
        ),
        group(
            "rel32x_at_1",
            code(
                5,
                &[0x15],
                &[hole(1, PatchKind::X86_64Rel32x, HoleValue::Data, None, -4)],
            ),
            code(8, &[], REL32X_SLOT),
        ),
        // The ADRP+LDR pair rewrites 8 bytes: the LDR half would be the next stencil's.
        group(
            "pair_half_outside",
            code(
                8,
                &[],
                &[hole(
                    4,
                    PatchKind::Aarch64Pair33rx,
                    HoleValue::Data,
                    None,
                    0,
                )],
            ),
            EMPTY,
        ),
        group(
            "offset_overflows",
            code(
                8,
                &[],
                &[hole(
                    u32::MAX - 2,
                    PatchKind::Abs64,
                    HoleValue::Zero,
                    None,
                    0,
                )],
            ),
            EMPTY,
        ),
        group(
            "data_trampoline",
            EMPTY,
            code(
                4,
                &[],
                &[hole(
                    0,
                    PatchKind::Aarch64Trampoline,
                    HoleValue::Zero,
                    Some(0),
                    0,
                )],
            ),
        ),
        group(
            "trampoline_without_symbol",
            code(
                4,
                &[],
                &[hole(
                    0,
                    PatchKind::Aarch64Trampoline,
                    HoleValue::Zero,
                    None,
                    0,
                )],
            ),
            EMPTY,
        ),
        group(
            "unknown_symbol",
            code(
                8,
                &[],
                &[hole(0, PatchKind::Abs64, HoleValue::Zero, Some(1), 0)],
            ),
            EMPTY,
        ),
        group(
            "undeclared_custom_value",
            code(
                8,
                &[],
                &[hole(0, PatchKind::Abs64, HoleValue::Custom(0), None, 0)],
            ),
            EMPTY,
        ),
        group("long_body", code(1, &[0x90, 0x90], &[]), EMPTY),
    ];
    let table = StencilTable {
        target: "x86_64-unknown-linux-gnu",
        groups: BAD,
        symbols: &["far"],
        custom_values: &[],
    };
    for (g, (name, reason)) in [
        (
            "past_end",
            "code hole at 0x2 (Rel32, 4 bytes) is outside the 4-byte stencil",
        ),
        (
            "rel32x_at_0",
            "code hole at 0x0 (X86_64Rel32x) may be relaxed, rewriting the 2",
        ),
        (
            "rel32x_at_1",
            "code hole at 0x1 (X86_64Rel32x) may be relaxed, rewriting the 2",
        ),
        (
            "pair_half_outside",
            "code hole at 0x4 (Aarch64Pair33rx, 8 bytes) is outside",
        ),
        (
            "offset_overflows",
            "code hole at 0xfffffffd (Abs64, 8 bytes) is outside",
        ),
        ("data_trampoline", "data hole at 0x0 is a trampoline branch"),
        (
            "trampoline_without_symbol",
            "code trampoline hole at 0x0 has no symbol",
        ),
        (
            "unknown_symbol",
            "code hole at 0x0 names symbol index Some(1)",
        ),
        (
            "undeclared_custom_value",
            "code hole at 0x0 uses undeclared custom value 0",
        ),
        (
            "long_body",
            "code body is longer than its declared length 1",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        // Checked when first used, by push, set_shim and set_terminator alike.
        let mut e = Emitter::new(&table, &[("far", 0x1000)]).unwrap();
        let err = e.push(Instruction::new(g as u16)).unwrap_err();
        assert!(
            matches!(err, EmitError::BadTable { group, .. } if group == name),
            "{err}"
        );
        assert!(err.to_string().contains(reason), "{name}: {err}");
        assert!(matches!(
            e.set_shim(g as u16),
            Err(EmitError::BadTable { .. })
        ));
        assert!(matches!(
            e.set_terminator(g as u16),
            Err(EmitError::BadTable { .. })
        ));
        assert!(e.is_empty());
    }
    // At offset 1 after `E9` (COFF's `jmp rel32` to an import) no relaxation can match,
    // whatever the previous stencil ends with; after a byte another hole writes, one can.
    static JUMPS: &[StencilGroup] = &[
        group(
            "coff_jump",
            code(
                5,
                &[0xE9],
                &[hole(1, PatchKind::X86_64Rel32x, HoleValue::Zero, None, -4)],
            ),
            EMPTY,
        ),
        group(
            "patched_modrm",
            code(
                8,
                &[],
                &[
                    hole(0, PatchKind::Abs32, HoleValue::Oparg, None, 0),
                    hole(1, PatchKind::X86_64Rel32x, HoleValue::Zero, None, -4),
                ],
            ),
            EMPTY,
        ),
    ];
    let jumps = StencilTable {
        groups: JUMPS,
        ..table
    };
    let mut e = Emitter::new(&jumps, &[]).unwrap();
    e.push(Instruction::new(0)).unwrap();
    let err = e.push(Instruction::new(1)).unwrap_err();
    assert!(
        err.to_string()
            .contains("hole at 0x1 (X86_64Rel32x) may be relaxed"),
        "{err}"
    );
    let foreign = StencilTable {
        target: "powerpc-unknown-linux-gnu",
        ..TABLE
    };
    let mut e = Emitter::new(&foreign, &[]).unwrap();
    e.push(Instruction::new(4)).unwrap();
    assert!(matches!(
        e.finish(&Options::default()),
        Err(EmitError::ForeignTable { .. })
    ));
}

/// Same architecture, other calling convention: refused too, never run with the wrong ABI.
#[test]
fn tables_for_another_os_family_are_refused() {
    let arch = std::env::consts::ARCH;
    let native = match std::env::consts::OS {
        "windows" => format!("{arch}-pc-windows-msvc"),
        "macos" => format!("{arch}-apple-darwin"),
        _ => format!("{arch}-unknown-linux-gnu"),
    };
    assert!(host_runs(&native), "{native}");
    for other in ["pc-windows-msvc", "apple-darwin", "unknown-linux-gnu"] {
        let triple = format!("{arch}-{other}");
        assert_eq!(host_runs(&triple), triple == native, "{triple}");
    }
    assert!(!host_runs("powerpc64le-unknown-linux-gnu"));
}

/// AArch64 `B` to an external symbol: plain (`Branch26r`) and with a trampoline.
static A64: &[StencilGroup] = &[
    StencilGroup {
        name: "branch",
        data_align: 8,
        code: Stencil {
            len: 8,
            body: &[0, 0, 0, 0x14, 0x1F, 0x20, 0x03, 0xD5],
            holes: &[hole(
                0,
                PatchKind::Aarch64Branch26r,
                HoleValue::Zero,
                Some(0),
                0,
            )],
        },
        data: EMPTY,
    },
    StencilGroup {
        name: "call",
        data_align: 8,
        code: Stencil {
            len: 8,
            body: &[0, 0, 0, 0x94, 0x1F, 0x20, 0x03, 0xD5],
            holes: &[hole(
                0,
                PatchKind::Aarch64Trampoline,
                HoleValue::Zero,
                Some(0),
                0,
            )],
        },
        data: EMPTY,
    },
    // Two 64-bit words: the client value BIAS, and EXECUTOR + 3.
    StencilGroup {
        name: "custom",
        data_align: 8,
        code: Stencil {
            len: 16,
            body: &[],
            holes: &[
                hole(0, PatchKind::Abs64, HoleValue::Custom(1), None, 0),
                hole(8, PatchKind::Abs64, HoleValue::Executor, None, 3),
            ],
        },
        data: EMPTY,
    },
];

static A64_TABLE: StencilTable = StencilTable {
    target: "aarch64-unknown-linux-gnu",
    groups: A64,
    symbols: &["far"],
    custom_values: &["SCALE", "BIAS"],
};

fn emit_a64(group: &str, far: u64) -> Result<Vec<u8>, EmitError> {
    let mut e = Emitter::new(&A64_TABLE, &[("far", far as usize)])?;
    let g = e.group(group).unwrap();
    e.push(Instruction::new(g))?;
    let layout = e.layout()?;
    let mut buf = vec![0u8; 64];
    e.emit_into(&layout, &mut buf, 0x10_0000, 32)?;
    Ok(buf)
}

#[test]
fn out_of_range_and_misaligned_branches_are_errors_with_their_site() {
    let ok = emit_a64("branch", 0x10_0000 + (1 << 27) - 4).unwrap();
    assert_eq!(
        u32::from_le_bytes(ok[..4].try_into().unwrap()),
        0x1400_0000 | 0x01FF_FFFF
    );
    let err = emit_a64("branch", 0x10_0000 + (1 << 27)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "instruction 0 (branch), Code stencil, hole at 0x0: cannot apply Aarch64Branch26r at \
         offset 0x0 with value 0x8100000: 0x8000000 does not fit in a signed 28-bit field: a \
         distance of +128 MiB, beyond the ±128 MiB B/BL reaches"
    );
    let EmitError::Patch {
        site,
        section,
        hole: 0,
        error,
    } = err
    else {
        panic!("{err}")
    };
    assert_eq!(
        site,
        Site {
            group: "branch",
            instruction: Some(0)
        }
    );
    assert_eq!(section, Section::Code);
    assert_eq!(
        (error.offset, error.kind, error.value),
        (0, PatchKind::Aarch64Branch26r, 0x10_0000 + (1 << 27))
    );
    assert!(matches!(
        error.problem,
        crate::PatchProblem::OutOfRange { bits: 28, .. }
    ));
    let err = emit_a64("branch", 0x10_0002).unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::Patch {
                error: PatchError {
                    problem: crate::PatchProblem::Misaligned { align: 4, .. },
                    ..
                },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn far_calls_go_through_a_trampoline() {
    let far = 0x10_0000u64 + (1 << 40);
    let buf = emit_a64("call", far).unwrap();
    // Code is 8 bytes; the trampoline area starts right after.
    assert_eq!(
        u32::from_le_bytes(buf[..4].try_into().unwrap()),
        0x9400_0002,
        "BL to the trampoline"
    );
    assert_eq!(
        u32::from_le_bytes(buf[8..12].try_into().unwrap()),
        0x5800_0048
    );
    assert_eq!(
        u32::from_le_bytes(buf[12..16].try_into().unwrap()),
        0xD61F_0100
    );
    assert_eq!(u64::from_le_bytes(buf[16..24].try_into().unwrap()), far);
    let near = emit_a64("call", 0x10_0000 + 0x400).unwrap();
    assert_eq!(
        u32::from_le_bytes(near[..4].try_into().unwrap()),
        0x9400_0100,
        "direct BL"
    );
}

#[test]
fn foreign_unknown_and_rebound_labels_are_refused() {
    let mut other = Emitter::new(&TABLE, &[]).unwrap();
    let foreign = other.label().unwrap();
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let own = e.label().unwrap();
    let problem = |err: EmitError| match err {
        EmitError::BadLabel { problem, .. } => problem,
        other => panic!("{other}"),
    };
    // Same index as `own`, made by another emitter.
    let err = e.bind(foreign).unwrap_err();
    assert_eq!(err.to_string(), "label 0 was made by another emitter");
    assert_eq!(problem(err), LabelProblem::Foreign);
    e.bind(own).unwrap();
    assert_eq!(
        problem(e.bind(own).unwrap_err()),
        LabelProblem::AlreadyBound
    );
    // A foreign label used as a destination is never resolved to one of `e`'s labels.
    let mut jz = ins(&e, "jump_if_zero", 0);
    jz.jump_target = Some(Destination::Label(foreign));
    e.push(jz).unwrap();
    e.set_terminator(e.group("ret").unwrap()).unwrap();
    let layout = e.layout().unwrap();
    let mut buf = vec![0u8; 64];
    let err = e.emit_into(&layout, &mut buf, 0x1000, 32).unwrap_err();
    assert!(matches!(err, EmitError::BadDestination { .. }), "{err}");
}

#[test]
fn foreign_layouts_and_short_or_wrapping_buffers_are_refused() {
    let program = || {
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let load = ins(&e, "load", 1);
        e.push(load).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        e
    };
    let (a, b) = (program(), program());
    let layout = a.layout().unwrap();
    let mut buf = vec![0u8; 64];
    let err = b.emit_into(&layout, &mut buf, 0x1000, 32).unwrap_err();
    assert!(matches!(err, EmitError::ForeignLayout), "{err}");
    // Code is 16 bytes (8-aligned), no data.
    assert_eq!((layout.code_len(), layout.data_len()), (16, 0));
    for (len, base, data_offset) in [
        (8, 0x1000, 16),         // shorter than the code
        (64, 0x1000, 8),         // data inside the code
        (64, 0x1000, 20),        // data not 8-aligned
        (64, u64::MAX - 32, 32), // addresses wrap
    ] {
        let err = a
            .emit_into(&layout, &mut buf[..len], base, data_offset)
            .unwrap_err();
        let EmitError::BadBuffer {
            len: l,
            data_offset: d,
            ..
        } = err
        else {
            panic!("{err}")
        };
        assert_eq!((l, d), (len, data_offset));
    }
    a.emit_into(&layout, &mut buf[..16], 0x1000, 16).unwrap();
    assert_eq!(&buf[..2], &[0x48, 0xB8]);
}

#[test]
fn impossible_reservations_are_errors() {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    assert!(matches!(e.reserve(usize::MAX), Err(EmitError::Memory(_))));
    // Two custom values per instruction: the count overflows before any allocation.
    let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
    let err = e.reserve(usize::MAX / 2 + 1).unwrap_err();
    assert!(err.to_string().contains("cannot reserve room"), "{err}");
    e.reserve(100).unwrap();
}

#[test]
fn executable_code_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ExecutableCode>();
}

#[test]
fn custom_values_and_executor() {
    let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
    let g = e.group("custom").unwrap();
    let i = e.push(Instruction::new(g)).unwrap();
    let bias = e.custom_value("BIAS").unwrap();
    e.set_custom(i, bias, 0xABCD).unwrap();
    let err = e.set_custom(i, 7, 0).unwrap_err();
    assert!(
        matches!(
            err,
            EmitError::NoSuchCustomValue {
                value_id: 7,
                declared: 2
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "no client-defined hole value 7: the table declares 2"
    );
    let err = e.set_custom(1, bias, 0).unwrap_err();
    assert!(
        matches!(err, EmitError::NoSuchInstruction { index: 1, len: 1 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "no instruction 1: the program has 1 instructions"
    );
    e.set_executor(0x1000);
    let layout = e.layout().unwrap();
    let mut buf = vec![0u8; 64];
    e.emit_into(&layout, &mut buf, 0x10_0000, 32).unwrap();
    assert_eq!(u64::from_le_bytes(buf[..8].try_into().unwrap()), 0xABCD);
    assert_eq!(u64::from_le_bytes(buf[8..16].try_into().unwrap()), 0x1003);
}

/// `push` keeps pass 1 incrementally; with pass 2 it must place every piece's data at a
/// multiple of its group's alignment, inside the unit's data and overlapping no other piece's,
/// the last one ending the data, for any mix of sizes and alignments, with and without shim
/// and terminator. Each data stencil holds its own address (a `DATA` hole), which tells where
/// pass 2 put it.
#[test]
fn incremental_layout_places_aligned_data() {
    const OWN_ADDRESS: &[Hole] = &[hole(0, PatchKind::Abs64, HoleValue::Data, None, 0)];
    const fn group(name: &'static str, code: u32, data: u32, data_align: u32) -> StencilGroup {
        StencilGroup {
            name,
            code: Stencil {
                len: code,
                body: &[],
                holes: &[],
            },
            data: Stencil {
                len: data,
                body: &[],
                holes: if data == 0 { &[] } else { OWN_ADDRESS },
            },
            data_align,
        }
    }
    static SIZED: &[StencilGroup] = &[
        group("a", 3, 0, 8),
        group("b", 5, 8, 8),
        group("c", 8, 13, 16),
        group("d", 1, 8, 64),
        group("e", 16, 24, 32),
        group("f", 2, 0, 4096),
    ];
    static TABLE: StencilTable = StencilTable {
        target: "x86_64-unknown-linux-gnu",
        groups: SIZED,
        symbols: &[],
        custom_values: &[],
    };
    let n = SIZED.len() as u64;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..300u64 {
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let shim = (round % 3 != 0).then_some((round % n) as u16);
        let terminator = (round % 4 != 0).then_some((round / 5 % n) as u16);
        // Sometimes set after the instructions, over another shim or none: their starts move.
        let late = round % 5 == 1;
        match shim {
            Some(g) if !late => e.set_shim(g).unwrap(),
            Some(g) if round % 2 == 0 => e.set_shim(((g as u64 + 1) % n) as u16).unwrap(),
            _ => {}
        }
        let mut pieces: Vec<u16> = shim.into_iter().collect();
        let mut starts = Vec::new();
        for _ in 0..round % 23 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let g = (seed % n) as u16;
            e.push(Instruction::new(g)).unwrap();
            pieces.push(g);
        }
        if let (Some(g), true) = (shim, late) {
            e.set_shim(g).unwrap();
        }
        if let Some(g) = terminator {
            e.set_terminator(g).unwrap();
            pieces.push(g);
        }
        let mut code = 0u32;
        for (i, &g) in pieces.iter().enumerate() {
            let is_instruction =
                i >= shim.is_some() as usize && i < pieces.len() - terminator.is_some() as usize;
            if is_instruction {
                starts.push(code);
            }
            code += SIZED[g as usize].code.len;
        }
        let layout = e.layout().unwrap();
        assert_eq!(layout.instruction_starts(), starts, "round {round}");
        assert_eq!(layout.code_len(), code.next_multiple_of(8), "round {round}");
        let with_data: Vec<&StencilGroup> = pieces
            .iter()
            .map(|&g| &SIZED[g as usize])
            .filter(|g| g.data.len != 0)
            .collect();
        let most = with_data.iter().map(|g| g.data_align).max().unwrap_or(8);
        assert_eq!(layout.data_align(), most.max(8), "round {round}");
        // Data at a page of its own, as `finish` places it.
        let (base, data_offset) = (0x40_0000u64, 0x1000usize);
        let mut buf = vec![0u8; data_offset + layout.data_len() as usize];
        e.emit_into(&layout, &mut buf, base, data_offset).unwrap();
        let mut end = 0u64;
        for g in with_data {
            let at = data_offset + end as usize;
            // Every piece's data starts at its own address: find it after the previous end.
            let address = (end..layout.data_len() as u64)
                .map(|o| data_offset + o as usize)
                .find_map(|o| {
                    let v = u64::from_le_bytes(buf[o..o + 8].try_into().unwrap());
                    (v == base + o as u64).then_some(v)
                })
                .unwrap_or_else(|| panic!("round {round}: no data of {} after {at:#x}", g.name));
            let offset = address - base - data_offset as u64;
            assert_eq!(
                address % u64::from(g.data_align),
                0,
                "round {round}: {}",
                g.name
            );
            assert!(offset >= end, "round {round}: {} overlaps", g.name);
            end = offset + u64::from(g.data.len);
        }
        assert_eq!(
            u64::from(layout.data_len()),
            end,
            "round {round}: {pieces:?}"
        );
    }
}

#[test]
fn small_copies_write_exactly_their_bytes() {
    let src: Vec<u8> = (1..=80).collect();
    for n in 0..=src.len() {
        for pad in [0, 1, 7] {
            let mut dst = vec![0u8; n + pad];
            emit::copy_small(&mut dst, &src[..n]);
            assert_eq!(&dst[..n], &src[..n], "size {n}");
            assert!(
                dst[n..].iter().all(|&b| b == 0),
                "size {n}: wrote past the end"
            );
        }
    }
}

/// `align_code` puts the next instruction on its boundary, fills the gap with no-ops the code
/// falls through, and keeps the boundaries when a shim set afterwards moves everything.
#[cfg(target_arch = "x86_64")]
#[test]
fn aligned_instructions_start_on_their_boundary_and_run() {
    for late_shim in [false, true] {
        let mut e = Emitter::new(&TABLE, &[]).unwrap();
        let load = ins(&e, "load", 5);
        e.push(load).unwrap();
        e.align_code(32).unwrap();
        let add = ins(&e, "add", 1);
        e.push(add).unwrap();
        e.align_code(64).unwrap();
        // A second request before the same instruction: the larger one already holds.
        e.align_code(16).unwrap();
        let add = ins(&e, "add", 2);
        e.push(add).unwrap();
        e.align_code(8).unwrap();
        let ret = ins(&e, "ret", 0);
        e.push(ret).unwrap();
        e.align_code(64).unwrap();
        if late_shim {
            // 15 bytes of `load` (operand 0) before everything, falling into instruction 0.
            e.set_shim(e.group("load").unwrap()).unwrap();
        }
        e.set_terminator(e.group("ret").unwrap()).unwrap();
        let layout = e.layout().unwrap();
        let starts = layout.instruction_starts().to_vec();
        assert_eq!(starts[0], if late_shim { 15 } else { 0 });
        for (i, align) in [(1, 32), (2, 64), (3, 8)] {
            assert_eq!(starts[i] % align, 0, "instruction {i}: {starts:?}");
            assert!(starts[i] - starts[i - 1] < 18 + align, "{starts:?}");
        }
        assert_eq!(layout.code_align(), 64);
        let mut buf = vec![0u8; 4096];
        e.emit_into(&layout, &mut buf, 0x10_0000, 2048).unwrap();
        // The gap after `load` (15 bytes) is no-ops: 66 0f 1f 84 ... and shorter forms.
        let gap = &buf[starts[0] as usize + 15..starts[1] as usize];
        assert!(!gap.is_empty() && !gap.contains(&0xE9), "{gap:02x?}");
        assert!(matches!(gap[0], 0x90 | 0x66 | 0x0F), "{gap:02x?}");
        // The terminator starts on the last boundary asked for.
        let terminator = (starts[3] + 1).next_multiple_of(64) as usize;
        assert_eq!(buf[terminator], 0xC3);
        drop(layout);
        assert_eq!(run(e, &Options::default()), 8, "late shim: {late_shim}");
    }
}

#[test]
fn bad_code_alignments_and_misaligned_buffers_are_refused() {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    for align in [0, 3, 48, 128, 1 << 31] {
        let err = e.align_code(align).unwrap_err();
        assert!(
            matches!(err, EmitError::BadAlignment { align: a } if a == align),
            "{err}"
        );
        assert!(err.to_string().contains("power of two up to 64"), "{err}");
    }
    let load = ins(&e, "load", 1);
    e.push(load).unwrap();
    e.align_code(64).unwrap();
    let ret = ins(&e, "ret", 0);
    e.push(ret).unwrap();
    let layout = e.layout().unwrap();
    let mut buf = vec![0u8; 256];
    let err = e.emit_into(&layout, &mut buf, 0x1020, 128).unwrap_err();
    assert!(
        matches!(err, EmitError::BadBuffer { code_align: 64, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("multiple of 64"), "{err}");
    e.emit_into(&layout, &mut buf, 0x1040, 128).unwrap();
    assert_eq!(buf[64], 0xC3);
}

/// AArch64 gaps are `nop` words.
#[test]
fn aarch64_gaps_are_nops() {
    let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
    let g = e.group("custom").unwrap();
    e.push(Instruction::new(g)).unwrap();
    e.align_code(64).unwrap();
    e.push(Instruction::new(g)).unwrap();
    let layout = e.layout().unwrap();
    assert_eq!(layout.instruction_starts(), &[0, 64]);
    let mut buf = vec![0u8; 256];
    e.emit_into(&layout, &mut buf, 0x10_0000, 128).unwrap();
    for word in buf[16..64].chunks(4) {
        assert_eq!(word, [0x1F, 0x20, 0x03, 0xD5]);
    }
}

/// Loop heads are aligned to 32 bytes on x86 and left alone on AArch64 (not measured there).
#[test]
fn loop_heads_align_by_architecture() {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    let load = ins(&e, "load", 1);
    e.push(load).unwrap();
    e.align_loop_head().unwrap();
    let ret = ins(&e, "ret", 0);
    e.push(ret).unwrap();
    let layout = e.layout().unwrap();
    assert_eq!(
        (layout.instruction_starts(), layout.code_align()),
        (&[0, 64][..], 64)
    );
    let mut e = Emitter::new(&A64_TABLE, &[]).unwrap();
    let g = e.group("custom").unwrap();
    e.push(Instruction::new(g)).unwrap();
    e.align_loop_head().unwrap();
    e.push(Instruction::new(g)).unwrap();
    let layout = e.layout().unwrap();
    assert_eq!(
        (layout.instruction_starts(), layout.code_align()),
        (&[0, 16][..], 1)
    );
}
