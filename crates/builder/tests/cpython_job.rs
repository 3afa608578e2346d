//! The `patchjit cpython` job on a miniature CPython tree (the project's own small template,
//! shim and micro-ops), compiled with clang 19 at test time.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use patchjit_build::cpython::{run, CodeComments, Job, JobError};
use patchjit_build::Event;

const JIT_H: &str = r#"typedef __attribute__((preserve_none)) long (*jit_func)(long *frame, long *sp);
enum { _A_CALL = 1, _B_DATA, _Z_NOP };
#define PATCH_VALUE(TYPE, NAME, ALIAS) \
    extern void ALIAS;                 \
    TYPE NAME = (TYPE)(unsigned long)&ALIAS;
#define PATCH_JUMP(ALIAS)                               \
    do {                                                \
        PATCH_VALUE(jit_func, jump, ALIAS)              \
        __attribute__((musttail)) return jump(frame, sp); \
    } while (0)
"#;

const TEMPLATE_C: &str = r#"#include "jit.h"

extern int spam;
extern void eggs(int);
extern void print(const char *);

__attribute__((preserve_none)) long
_JIT_ENTRY(long *frame, long *sp)
{
    PATCH_VALUE(unsigned short, oparg, _JIT_OPARG)
    switch (_JIT_OPCODE) {
        CASE
        default:
            __builtin_unreachable();
    }
    PATCH_JUMP(_JIT_CONTINUE);
}
"#;

const SHIM_C: &str = r#"#include "jit.h"

long
_JIT_ENTRY(long *frame, long *sp)
{
    PATCH_VALUE(jit_func, call, _JIT_CONTINUE)
    return call(frame, sp);
}
"#;

const CASES: &str = "// generated\n        case _Z_NOP: {\n            break;\n        }\n\n        case _B_DATA: {\n            if (spam) {\n                PATCH_JUMP(_JIT_JUMP_TARGET);\n            }\n            print(\"it's a string\");\n            break;\n        }\n\n        case _A_CALL: {\n            eggs(oparg);\n            spam = 0;\n            break;\n        }\n";

/// A throwaway CPython-shaped tree: `Python/`, `Tools/jit/`, and a build dir with pyconfig.h.
struct Tree {
    root: PathBuf,
    /// Removes the tree when the test ends.
    _dir: tempfile::TempDir,
}

impl Tree {
    fn new(name: &str, jit_c: &str) -> Tree {
        let dir = tempfile::Builder::new()
            .prefix(&format!("patchjit-cpython-{name}-"))
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        for dir in [
            "src/Python",
            "src/Tools/jit",
            "src/Include/internal/mimalloc",
            "build",
            "out",
        ] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        let tree = Tree { root, _dir: dir };
        tree.write("src/Tools/jit/jit.h", JIT_H);
        tree.write("src/Tools/jit/template.c", TEMPLATE_C);
        tree.write("src/Tools/jit/shim.c", SHIM_C);
        tree.write("src/Python/executor_cases.c.h", CASES);
        tree.write("src/Python/jit.c", jit_c);
        tree.write("build/pyconfig.h", "#define SIZEOF_VOID_P 8\n");
        tree.write("build/Makefile", "VERSION=3.14\nsrcdir=\t\t../src\n");
        tree
    }

    fn write(&self, path: &str, text: &str) {
        fs::write(self.root.join(path), text).unwrap();
    }

    fn job(&self, triples: &[&str], precompiled_header: bool) -> Job {
        Job {
            triples: triples.iter().map(|t| t.to_string()).collect(),
            output_dir: self.root.join("out"),
            pyconfig_dir: self.root.join("build"),
            cpython_root: None,
            cflags: String::new(),
            debug: false,
            force: false,
            verbose: false,
            command: "patchjit cpython test".to_string(),
            jobs: 0,
            cache_dir: Some(self.root.join("cache")),
            precompiled_header,
            code_comments: CodeComments::Objdump { fallback: false },
        }
    }

    fn header(&self, triple: &str) -> String {
        fs::read_to_string(self.root.join(format!("out/jit_stencils-{triple}.h"))).unwrap()
    }
}

/// Runs a job, returning what it reported as (kind, detail) pairs.
fn run_job(job: &Job) -> Result<Vec<(String, String)>, JobError> {
    let events = Mutex::new(Vec::new());
    run(job, &|event| {
        let entry = match event {
            Event::UpToDate { path } => ("up-to-date", file_name(path)),
            Event::Wrote { path } => ("wrote", file_name(path)),
            Event::Compiling { target, total, .. } => ("compiling", format!("{target} {total}")),
            Event::Compiled { .. } | Event::Command(_) => return,
        };
        events.lock().unwrap().push((entry.0.to_string(), entry.1));
    })?;
    Ok(events.into_inner().unwrap())
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The miniature tree's header layout, on every target: the shim first, then the micro-ops in
/// case-text order (the footer sorts by name), and the micro-op that only falls through empty
/// once its continuation jump is removed.
fn assert_layout(header: &str) {
    let emitted: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("emit_").and_then(|l| l.strip_suffix('(')))
        .collect();
    assert_eq!(
        emitted,
        ["shim", "_A_CALL", "_B_DATA", "_Z_NOP"],
        "{header}"
    );
    assert!(
        header.contains("    [_Z_NOP] = {emit__Z_NOP, 0, 0, {0}},\n"),
        "{header}"
    );
}

#[test]
fn x86_64_header_from_a_miniature_tree() {
    let tree = Tree::new(
        "x86",
        "/* CPython 3.14.7 jit.c: no relaxing AArch64 patches */\n",
    );
    let job = tree.job(&["x86_64-pc-linux-gnu"], true);
    let events = run_job(&job).unwrap();
    assert_eq!(
        events,
        [
            ("compiling".to_string(), "x86_64-pc-linux-gnu 4".to_string()),
            (
                "wrote".to_string(),
                "jit_stencils-x86_64-pc-linux-gnu.h".to_string()
            ),
            ("wrote".to_string(), "jit_stencils.h".to_string()),
        ]
    );
    let header = tree.header("x86_64-pc-linux-gnu");
    // clang's and llvm-objdump's `--version` answers are cached, as the builder caches clang's.
    let cached_versions = fs::read_dir(tree.root.join("cache"))
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("tool-") && name.ends_with(".version")
        })
        .count();
    assert_eq!(cached_versions, 2);
    let lines: Vec<&str> = header.lines().collect();
    assert_eq!(lines[0].len(), 3 + 64, "digest line: {}", lines[0]);
    assert_eq!(lines[1], "// $ patchjit cpython test");
    assert_layout(&header);
    // The call to an external function goes through a GOT slot in the data.
    assert!(header.contains("    // 0: &eggs+0x0\n"), "{header}");
    assert!(
        header.contains("    patch_64(data + 0x0, (uintptr_t)&eggs);\n"),
        "{header}"
    );
    assert!(header.contains("patch_x86_64_32rx(code + "), "{header}");
    assert!(header.contains("(uintptr_t)&spam);\n"), "{header}");
    assert!(header.contains("instruction->oparg);\n"), "{header}");
    assert!(
        header.contains("    // 0: \"it's a string\\x00\"\n"),
        "{header}"
    );
    assert!(
        header.contains("state->instruction_starts[instruction->jump_target] + -0x4);\n"),
        "{header}"
    );
    // Disassembly comments name the object, not the temporary path.
    assert!(
        header.contains("    // _A_CALL.o:") && header.contains(" file format elf64-x86-64\n"),
        "{header}"
    );
    assert!(header.ends_with("static const void * const symbols_map[1] = {\n    0\n};\n"));
    assert_eq!(
        fs::read_to_string(tree.root.join("out/jit_stencils.h")).unwrap(),
        "// $ patchjit cpython test\n#if defined(__x86_64__) && defined(__linux__)\n#include \"jit_stencils-x86_64-pc-linux-gnu.h\"\n#else\n#error \"unexpected target\"\n#endif\n"
    );

    // Unchanged inputs: nothing is rebuilt or rewritten.
    let modified = fs::metadata(tree.root.join("out/jit_stencils-x86_64-pc-linux-gnu.h"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        run_job(&job).unwrap(),
        [(
            "up-to-date".to_string(),
            "jit_stencils-x86_64-pc-linux-gnu.h".to_string()
        )]
    );
    assert_eq!(
        fs::metadata(tree.root.join("out/jit_stencils-x86_64-pc-linux-gnu.h"))
            .unwrap()
            .modified()
            .unwrap(),
        modified
    );

    // CPython's exact command lines give the same header as the precompiled prefix.
    let exact = Job {
        force: true,
        ..tree.job(&["x86_64-pc-linux-gnu"], false)
    };
    run_job(&exact).unwrap();
    assert_eq!(tree.header("x86_64-pc-linux-gnu"), header);

    // A changed input is rebuilt without --force.
    tree.write(
        "src/Python/executor_cases.c.h",
        &CASES.replace("spam = 0;", "spam = 1;"),
    );
    let events = run_job(&job).unwrap();
    assert_eq!(events[0].0, "compiling");
    assert_ne!(tree.header("x86_64-pc-linux-gnu"), header);
}

#[test]
fn aarch64_patch_dialect_follows_the_trees_jit_c() {
    // 3.14.7's jit.c patches GOT loads with the plain functions; a tree with the relaxing
    // family gets folded ADRP+LDR pairs.
    for (name, jit_c, expected, absent) in [
        (
            "a64plain",
            "/* 3.14.7 */\n",
            "patch_aarch64_12(",
            &[
                "patch_aarch64_33rx(",
                "patch_aarch64_21rx(",
                "patch_aarch64_12x(",
            ][..],
        ),
        (
            "a64relax",
            "void\npatch_aarch64_33rx(unsigned char *location, uint64_t value)\n{\n}\n",
            "patch_aarch64_33rx(",
            &[][..],
        ),
    ] {
        let tree = Tree::new(name, jit_c);
        let job = tree.job(
            &["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"],
            true,
        );
        run_job(&job).unwrap();
        let header = tree.header("aarch64-unknown-linux-gnu");
        assert!(header.contains(expected), "{header}");
        for absent in absent {
            assert!(!header.contains(absent), "{absent} in {header}");
        }
        assert_layout(&header);
        let umbrella = fs::read_to_string(tree.root.join("out/jit_stencils.h")).unwrap();
        assert!(umbrella.contains("#if defined(__aarch64__) && defined(__linux__)\n#include \"jit_stencils-aarch64-unknown-linux-gnu.h\"\n#elif defined(__x86_64__) && defined(__linux__)\n"), "{umbrella}");
    }
}

/// The job writes what CPython 3.14's `Tools/jit` writes: no hot-path fallthrough (that is
/// `patchjit-build`'s, for its own tables, and 3.14's jit.c has no `patch_aarch64_19r`). A
/// branch micro-op keeps the shape the pass would rewrite: a conditional branch over the final
/// `b JUMP_TARGET` to the end.
#[test]
fn branch_micro_ops_are_not_rewritten_to_fall_through() {
    let tree = Tree::new("branch", "/* 3.14.7 */\n");
    let cases = CASES.replace(
        "if (spam) {\n                PATCH_JUMP(_JIT_JUMP_TARGET);\n            }\n            print(\"it's a string\");",
        "if (spam) {\n                PATCH_JUMP(_JIT_JUMP_TARGET);\n            }",
    );
    assert_ne!(cases, CASES);
    tree.write("src/Python/executor_cases.c.h", &cases);
    run_job(&tree.job(&["aarch64-unknown-linux-gnu"], true)).unwrap();
    let header = tree.header("aarch64-unknown-linux-gnu");
    assert!(!header.contains("patch_aarch64_19r"), "{header}");
    let emit = &header[header.find("emit__B_DATA(").unwrap()..];
    let emit = &emit[..emit.find("\n}\n").unwrap()];
    let bytes: Vec<u8> = emit[emit.find("code_body[").unwrap()..]
        .split_once('{')
        .unwrap()
        .1
        .split_once('}')
        .unwrap()
        .0
        .split(',')
        .filter_map(|b| u8::from_str_radix(b.trim().strip_prefix("0x")?, 16).ok())
        .collect();
    let call = "patch_aarch64_26r(code + ";
    let at = emit[emit.find(call).unwrap() + call.len()..]
        .split(',')
        .next()
        .and_then(|o| usize::from_str_radix(o.trim_start_matches("0x"), 16).ok())
        .unwrap();
    assert!(
        emit.contains("state->instruction_starts[instruction->jump_target]);"),
        "{emit}"
    );
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let before = word(at - 4);
    // `b.cond` or `cbz`/`cbnz` with an imm19 landing right after the `b`.
    let conditional = before & 0xFF00_0010 == 0x5400_0000 || before & 0x7E00_0000 == 0x3400_0000;
    let displacement = (((before >> 5) & 0x7FFFF) as i32) << 13 >> 13;
    assert!(
        conditional,
        "{before:#010x} before the b at {at:#x}: {emit}"
    );
    assert_eq!(at - 4 + 4 * displacement as usize, at + 4, "{emit}");
}

#[test]
fn errors_name_the_micro_op_and_show_clang() {
    let tree = Tree::new("err", "\n");
    tree.write(
        "src/Python/executor_cases.c.h",
        &format!("{CASES}\n        case _BROKEN: {{\n            this is not C;\n        }}\n"),
    );
    let error = run_job(&tree.job(&["x86_64-unknown-linux-gnu"], true)).unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, JobError::Compile { ref stencil, .. } if stencil == "_BROKEN"),
        "{text}"
    );
    assert!(text.contains("clang failed for micro-op _BROKEN"), "{text}");
    assert!(text.contains("error:"), "{text}");
    // The message points at the full instantiated template, as CPython's would.
    assert!(text.contains("_BROKEN.c:"), "{text}");
    assert!(!tree
        .root
        .join("out/jit_stencils-x86_64-unknown-linux-gnu.h")
        .exists());

    let error = run_job(&tree.job(&["riscv64-unknown-linux-gnu"], true)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unsupported target triple \"riscv64-unknown-linux-gnu\""),
        "{error}"
    );
    let bad_flags = Job {
        cflags: "'-DX".to_string(),
        ..tree.job(&["x86_64-unknown-linux-gnu"], true)
    };
    assert!(run_job(&bad_flags)
        .unwrap_err()
        .to_string()
        .contains("--cflags: no closing quotation"));
}

/// The built-in listing replaces llvm-objdump's comments (forced, or as the fallback when
/// llvm-objdump is missing): each instruction of the copied code with its holes marked under
/// it; the code lines stay the same.
#[test]
fn builtin_disassembler_writes_the_code_comments() {
    let tree = Tree::new("builtin", "/* CPython 3.14.7 jit.c */\n");
    let triple = "x86_64-pc-linux-gnu";
    run_job(&tree.job(&[triple], true)).unwrap();
    let objdump = tree.header(triple);
    let builtin = Job {
        force: true,
        code_comments: CodeComments::Builtin,
        ..tree.job(&[triple], true)
    };
    run_job(&builtin).unwrap();
    let header = tree.header(triple);
    assert!(!header.contains("file format elf64-x86-64"), "{header}");
    assert!(
        header.contains("    //      e: ff 15 00 00 00 00              call qword ptr [14h]\n"),
        "{header}"
    );
    // Every code patch is marked, in order, under the function's instructions.
    let (mut marks, mut patches) = (Vec::new(), Vec::new());
    for line in header.lines() {
        if let Some(mark) = line.trim_start().strip_prefix("//         ^ hole at ") {
            let (offset, rest) = mark.split_once(": ").unwrap();
            marks.push(format!(
                "{}(code + {offset}",
                rest.split(' ').next().unwrap()
            ));
        } else if line.starts_with("    patch_") && line.contains("(code + ") {
            patches.push(line.trim_start().split(',').next().unwrap().to_string());
        }
    }
    assert_eq!(marks.len(), 8, "{header}");
    assert_eq!(marks, patches, "{header}");
    let code = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(code(&header), code(&objdump));
}
