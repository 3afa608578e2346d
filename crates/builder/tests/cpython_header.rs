//! The CPython 3.14 header writer on hand-built stencil groups: exact text.

use patchjit_build::cpython::{render_umbrella, HeaderError, PatchDialect, TargetHeader};
use patchjit_stencils::{
    Extraction, Hole, HoleValue, PatchKind, RelocKind, Stencil, StencilGroup, Target,
};

fn hole(offset: u64, kind: RelocKind, value: HoleValue, symbol: Option<&str>, addend: i64) -> Hole {
    Hole {
        offset,
        kind,
        value,
        symbol: symbol.map(str::to_string),
        addend,
        patch: kind.patch_kind(),
    }
}

fn group(
    name: &str,
    code: Vec<u8>,
    code_holes: Vec<Hole>,
    data: Vec<u8>,
    data_section_len: usize,
    got_offset: usize,
    data_holes: Vec<Hole>,
) -> StencilGroup {
    StencilGroup {
        name: name.to_string(),
        code: Stencil {
            body: code,
            holes: code_holes,
        },
        data: Stencil {
            body: data,
            holes: data_holes,
        },
        data_section_len,
        got_offset,
        data_align: 8,
        trampolines: vec![],
    }
}

/// An x86-64 extraction shaped like a toy two-case CPython build: a removed continuation jump,
/// a string literal with padding, one GOT slot, every kind of value expression.
fn x86_extraction() -> Extraction {
    let shim = group("shim", vec![0xc3], vec![], vec![], 0, 0, vec![]);
    let empty = group("_A", vec![], vec![], vec![], 0, 0, vec![]);
    let mut code = vec![0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0];
    code.extend([0x90; 8]);
    code.extend([0, 0, 0]);
    let mut data = b"hi\x01'\0".to_vec();
    data.extend([0; 3 + 8]);
    let b = group(
        "_B",
        code,
        vec![
            hole(
                0x10,
                RelocKind::R_X86_64_PLT32,
                HoleValue::JumpTarget,
                None,
                -4,
            ),
            hole(0x2, RelocKind::R_X86_64_64, HoleValue::Oparg, None, 0),
            hole(
                0x11,
                RelocKind::R_X86_64_GOTPCRELX,
                HoleValue::Data,
                None,
                4,
            ),
            hole(
                0x12,
                RelocKind::R_X86_64_64,
                HoleValue::Zero,
                Some("some_global"),
                0,
            ),
            hole(
                0x13,
                RelocKind::R_X86_64_PLT32,
                HoleValue::Continue,
                None,
                -4,
            ),
            hole(0x14, RelocKind::R_X86_64_64, HoleValue::Zero, None, 0),
        ],
        data,
        5,
        8,
        vec![hole(
            8,
            RelocKind::R_X86_64_64,
            HoleValue::Zero,
            Some("some_func"),
            0,
        )],
    );
    Extraction {
        // Output order is extraction order; the footer sorts by name.
        groups: vec![shim, b, empty],
        trampoline_symbols: vec![],
    }
}

const FUNCTION_HEAD: &str = "    unsigned char *code, unsigned char *data, _PyExecutorObject *executor,\n    const _PyUOpInstruction *instruction, jit_state *state)\n{\n";

#[test]
fn x86_64_header_text() {
    let extraction = x86_extraction();
    let comments = vec![
        vec!["".to_string(), "0: c3  retq".to_string()],
        vec![],
        vec![],
    ];
    let text = TargetHeader {
        digest: "ab12",
        command: "patchjit cpython x86_64-pc-linux-gnu",
        extraction: &extraction,
        code_comments: &comments,
        dialect: PatchDialect::Plain,
    }
    .render()
    .unwrap();
    let expected = format!(
        "// ab12\n// $ patchjit cpython x86_64-pc-linux-gnu\n\n\
void\nemit_shim(\n{FUNCTION_HEAD}    // \n    // 0: c3  retq\n    const unsigned char code_body[1] = {{\n        0xc3,\n    }};\n    memcpy(code, code_body, sizeof(code_body));\n}}\n\n\
void\nemit__B(\n{FUNCTION_HEAD}    const unsigned char code_body[21] = {{\n        0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,\n        0x00, 0x00, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90,\n        0x90, 0x90,\n    }};\n    // 0: \"hi\\x01'\\x00\"\n    // 5: 00 00 00\n    // 8: &some_func+0x0\n    const unsigned char data_body[16] = {{\n        0x68, 0x69, 0x01, 0x27,\n    }};\n    memcpy(data, data_body, sizeof(data_body));\n    patch_64(data + 0x8, (uintptr_t)&some_func);\n    memcpy(code, code_body, sizeof(code_body));\n    patch_64(code + 0x2, instruction->oparg);\n    patch_32r(code + 0x10, state->instruction_starts[instruction->jump_target] + -0x4);\n    patch_x86_64_32rx(code + 0x11, (uintptr_t)data + 0x4);\n    patch_64(code + 0x12, (uintptr_t)&some_global);\n    patch_32r(code + 0x13, (uintptr_t)code + sizeof(code_body) + -0x4);\n    patch_64(code + 0x14, 0x0);\n}}\n\n\
void\nemit__A(\n{FUNCTION_HEAD}}}\n\n\
static_assert(SYMBOL_MASK_WORDS >= 1, \"SYMBOL_MASK_WORDS too small\");\n\n\
typedef struct {{\n    void (*emit)(\n        unsigned char *code, unsigned char *data, _PyExecutorObject *executor,\n        const _PyUOpInstruction *instruction, jit_state *state);\n    size_t code_size;\n    size_t data_size;\n    symbol_mask trampoline_mask;\n}} StencilGroup;\n\n\
static const StencilGroup shim = {{emit_shim, 1, 0, {{0}}}};\n\n\
static const StencilGroup stencil_groups[MAX_UOP_ID + 1] = {{\n    [_A] = {{emit__A, 0, 0, {{0}}}},\n    [_B] = {{emit__B, 21, 16, {{0}}}},\n}};\n\n\
static const void * const symbols_map[1] = {{\n    0\n}};\n"
    );
    assert_eq!(text, expected);
}

/// AArch64: trampolines (with `state`), a folded GOT pair in both dialects, `symbols_map`.
fn aarch64_extraction() -> Extraction {
    let pair = Hole {
        patch: PatchKind::Aarch64Pair33rx,
        ..hole(
            0x0,
            RelocKind::R_AARCH64_ADR_GOT_PAGE,
            HoleValue::Data,
            None,
            8,
        )
    };
    let trampoline = |offset, ordinal| Hole {
        patch: PatchKind::Aarch64Trampoline,
        ..hole(
            offset,
            RelocKind::R_AARCH64_CALL26,
            HoleValue::Zero,
            None,
            ordinal,
        )
    };
    let mut shim = group(
        "shim",
        vec![0, 0, 0, 0x94, 0x1f, 0x20, 0x03, 0xd5],
        vec![trampoline(0, 0)],
        vec![],
        0,
        0,
        vec![],
    );
    shim.trampolines = vec![0];
    let mut op = group(
        "_OP",
        vec![
            0x10, 0, 0, 0x90, 0x10, 0x02, 0x40, 0xf9, 0, 0, 0, 0x94, 0, 0, 0, 0x14,
        ],
        vec![
            pair,
            trampoline(8, 1),
            hole(
                0xc,
                RelocKind::R_AARCH64_JUMP26,
                HoleValue::ErrorTarget,
                None,
                0,
            ),
        ],
        vec![0; 16],
        0,
        0,
        vec![
            hole(0, RelocKind::R_X86_64_64, HoleValue::Code, None, 0x40),
            hole(8, RelocKind::R_X86_64_64, HoleValue::Operand0, None, 0),
        ],
    );
    op.trampolines = vec![1];
    Extraction {
        groups: vec![shim, op],
        trampoline_symbols: vec!["_Py_Dealloc".into(), "PyObject_Free".into()],
    }
}

fn aarch64_text(dialect: PatchDialect) -> String {
    let extraction = aarch64_extraction();
    TargetHeader {
        digest: "00",
        command: "x",
        extraction: &extraction,
        code_comments: &[vec![], vec![]],
        dialect,
    }
    .render()
    .unwrap()
}

#[test]
fn aarch64_patch_calls_in_both_dialects() {
    let plain = aarch64_text(PatchDialect::Plain);
    let common_head = "    // 0: CODE+0x40\n    // 8: OPERAND0\n    patch_64(data + 0x0, (uintptr_t)code + 0x40);\n    patch_64(data + 0x8, instruction->operand0);\n    memcpy(code, code_body, sizeof(code_body));\n";
    let tail = "    patch_aarch64_trampoline(code + 0x8, 0x1, state);\n    patch_aarch64_26r(code + 0xc, state->instruction_starts[instruction->error_target]);\n}\n";
    assert!(
        plain.contains(&format!(
            "{common_head}    patch_aarch64_21r(code + 0x0, (uintptr_t)data + 0x8);\n    patch_aarch64_12(code + 0x4, (uintptr_t)data + 0x8);\n{tail}"
        )),
        "{plain}"
    );
    assert!(plain.contains("    memcpy(code, code_body, sizeof(code_body));\n    patch_aarch64_trampoline(code + 0x0, 0x0, state);\n}\n"));
    assert!(plain.contains("static const StencilGroup shim = {emit_shim, 8, 0, {0x01}};\n"));
    assert!(plain.contains("    [_OP] = {emit__OP, 16, 16, {0x02}},\n"));
    assert!(plain.ends_with("static const void * const symbols_map[2] = {\n    [0] = &_Py_Dealloc,\n    [1] = &PyObject_Free,\n};\n"));
    // No data array: all data bytes are zero, but the size still counts them.
    assert!(!plain.contains("data_body"));

    let relaxing = aarch64_text(PatchDialect::Relaxing);
    assert!(
        relaxing.contains(&format!(
            "{common_head}    patch_aarch64_33rx(code + 0x0, (uintptr_t)data + 0x8);\n{tail}"
        )),
        "{relaxing}"
    );
}

/// A 19-bit conditional branch (what patchjit's hot-path fallthrough leaves on AArch64, which
/// the CPython job never runs) is written with CPython 3.15's `patch_aarch64_19r`.
#[test]
fn aarch64_conditional_branch_patch_call() {
    let mut extraction = aarch64_extraction();
    extraction.groups[1].code.holes[2] = hole(
        0xc,
        RelocKind::R_AARCH64_CONDBR19,
        HoleValue::JumpTarget,
        None,
        0,
    );
    extraction.groups[1].code.body[12..].copy_from_slice(&[0x0a, 0, 0, 0x54]);
    let text = TargetHeader {
        digest: "00",
        command: "x",
        extraction: &extraction,
        code_comments: &[vec![], vec![]],
        dialect: PatchDialect::Relaxing,
    }
    .render()
    .unwrap();
    assert!(
        text.contains(
            "    patch_aarch64_19r(code + 0xc, state->instruction_starts[instruction->jump_target]);\n}\n"
        ),
        "{text}"
    );
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(
        aarch64_text(PatchDialect::Plain),
        aarch64_text(PatchDialect::Plain)
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut extraction = x86_extraction();
    let render = |e: &Extraction, comments: &[Vec<String>]| {
        TargetHeader {
            digest: "0",
            command: "x",
            extraction: e,
            code_comments: comments,
            dialect: PatchDialect::Plain,
        }
        .render()
    };
    assert_eq!(
        render(&extraction, &[]),
        Err(HeaderError::CommentCount {
            groups: 3,
            comments: 0
        })
    );
    let three = vec![vec![]; 3];
    extraction.groups[1].code.holes[0].value = HoleValue::Custom("COUNTER".to_string());
    assert!(matches!(
        render(&extraction, &three),
        Err(HeaderError::UnprintableValue { offset: 0x10, value, .. }) if value == "COUNTER"
    ));
    extraction.groups[1].code.holes[0].value = HoleValue::Code;
    extraction.groups[1].data.holes.clear();
    let err = render(&extraction, &three).unwrap_err();
    assert!(
        err.to_string()
            .contains("no hole fills the GOT slot at 0x8"),
        "{err}"
    );
    extraction.groups.remove(0);
    assert_eq!(
        render(&extraction, &[vec![], vec![]]),
        Err(HeaderError::MissingShim)
    );
}

#[test]
fn umbrella_header() {
    let targets = vec![
        (
            "aarch64-apple-darwin24.1.0".to_string(),
            Target::Aarch64AppleDarwin,
        ),
        ("x86_64-apple-darwin".to_string(), Target::X86_64AppleDarwin),
    ];
    assert_eq!(
        render_umbrella("python3 build.py", &targets),
        "// $ python3 build.py\n#if defined(__aarch64__) && defined(__APPLE__)\n#include \"jit_stencils-aarch64-apple-darwin24.1.0.h\"\n#elif defined(__x86_64__) && defined(__APPLE__)\n#include \"jit_stencils-x86_64-apple-darwin.h\"\n#else\n#error \"unexpected target\"\n#endif\n"
    );
}
