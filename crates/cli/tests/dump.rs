//! `patchjit dump` end to end: real clang-19 objects for every target in both formats, and bad
//! input that must give one line on stderr and exit status 1, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use patchjit_stencils::{extract_objects, from_json, to_json, Options, Target};

use patchjit_test_support::special_files::{closed_pipe, full_disk};
use patchjit_test_support::Object;

fn patchjit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .args(args)
        .output()
        .expect("run patchjit")
}

/// A path named `name` in this run's own directory under Cargo's per-test temporary directory.
fn scratch(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("dump-tests-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep()
    })
    .join(name)
}

/// Compiles one of the extraction tests' templates for `target` with the template flags they use.
fn compile(target: Target, template: &str, extra: &[&str]) -> Object {
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stencils/tests/templates");
    let include = format!("-I{}", templates.display());
    let source = templates.join(format!("{template}.c"));
    patchjit_test_support::compile(target, &source, &[extra, &[include.as_str()]].concat())
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "patchjit failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn json_dump_is_the_extraction_in_the_stable_schema_for_every_target() {
    for target in Target::ALL {
        let object = compile(target, "calls", &[]);
        let path = object.path().to_str().unwrap();
        let json = stdout(&patchjit(&["dump", path, "--format", "json"]));
        let bytes = object.bytes();
        let expected =
            extract_objects(&[(path, &bytes)], Some(target), &Options::default()).unwrap();
        assert_eq!(json, to_json(&expected, target), "{target}");
        let (read_target, read) = from_json("dump.json", &json).unwrap();
        assert_eq!(read_target, target);
        assert_eq!(
            to_json(&read, target),
            json,
            "{target}: JSON does not round-trip"
        );
        // Every hole is in the JSON with its patch function.
        for group in &expected.groups {
            for hole in group.code.holes.iter().chain(&group.data.holes) {
                assert!(json.contains(&format!(
                    "\"offset\": {}, \"kind\": \"{}\"",
                    hole.offset, hole.kind
                )));
            }
        }
    }
}

#[test]
fn text_dump_shows_holes_patch_calls_and_marked_disassembly() {
    let object = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    let text = stdout(&patchjit(&["dump", object.path().to_str().unwrap()]));
    assert!(text.contains("target x86_64-unknown-linux-gnu"), "{text}");
    assert!(
        text.contains("kind='R_X86_64_GOTPCRELX', value=DATA, symbol=None, addend=4, func='patch_x86_64_32rx')"),
        "{text}"
    );
    assert!(text.contains("patch_x86_64_32rx(code + 0x"), "{text}");
    assert!(text.contains("call qword ptr"), "{text}");
    assert!(text.contains("^ hole at 0x"), "{text}");

    let object = compile(Target::Aarch64UnknownLinuxGnu, "calls", &[]);
    let text = stdout(&patchjit(&["dump", object.path().to_str().unwrap()]));
    assert!(text.contains("adrp x"), "{text}");
    assert!(
        text.contains("patch_aarch64_trampoline(code + 0x"),
        "{text}"
    );
    assert!(text.contains(", state);"), "{text}");
}

fn assert_one_line_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_one_line_and_exit_status_1() {
    let empty = scratch("empty.o");
    std::fs::write(&empty, b"").unwrap();
    assert_one_line_error(&patchjit(&["dump", empty.to_str().unwrap()]), "empty.o");

    let good = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]).bytes();
    let truncated = scratch("truncated.o");
    std::fs::write(&truncated, &good[..good.len() / 3]).unwrap();
    assert_one_line_error(
        &patchjit(&["dump", truncated.to_str().unwrap()]),
        "truncated.o",
    );

    let random = scratch("random.o");
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, noise).unwrap();
    assert_one_line_error(&patchjit(&["dump", random.to_str().unwrap()]), "random.o");

    let missing = scratch("missing.o");
    assert_one_line_error(&patchjit(&["dump", missing.to_str().unwrap()]), "missing.o");

    // A valid object whose relocation has no patch function (small code model: R_X86_64_32S).
    let bad_reloc = compile(
        Target::X86_64UnknownLinuxGnu,
        "bad_reloc",
        &["-mcmodel=small"],
    );
    assert_one_line_error(
        &patchjit(&["dump", bad_reloc.path().to_str().unwrap()]),
        "unsupported relocation type R_X86_64_32S",
    );

    // A valid object in a format patchjit does not read (a 32-bit ELF).
    let elf32 = compile(
        Target::I686PcWindowsMsvc,
        "calls",
        &["--target=i686-unknown-linux-gnu"],
    );
    assert_one_line_error(&patchjit(&["dump", elf32.path().to_str().unwrap()]), "");

    let object = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    assert_one_line_error(
        &patchjit(&[
            "dump",
            object.path().to_str().unwrap(),
            "--target",
            "sparc-sun-solaris",
        ]),
        "unknown target",
    );
}

/// `llvm-readobj-19` JSON output of `object`, as CPython 3.14 asks for it, written next to it.
fn readobj_json(object: &Path) -> PathBuf {
    let path = object.with_extension("json");
    std::fs::write(&path, patchjit_test_support::readobj_json(object)).unwrap();
    path
}

#[test]
fn readobj_json_route_dumps_the_same_stencils_for_every_target() {
    for target in Target::ALL {
        let object = compile(target, "calls", &[]);
        let json = readobj_json(object.path());
        let path = object.path().to_str().unwrap();
        for format in ["json", "text"] {
            let direct = stdout(&patchjit(&["dump", path, "--format", format]));
            // The target comes from the JSON's summary; FILE only names the object.
            let via_json = stdout(&patchjit(&[
                "dump",
                path,
                "--format",
                format,
                "--readobj-json",
                json.to_str().unwrap(),
            ]));
            assert_eq!(via_json, direct, "{target} --format {format}");
        }
        // Without FILE, the JSON's own name is used.
        let alone = stdout(&patchjit(&[
            "dump",
            "--readobj-json",
            json.to_str().unwrap(),
            "--target",
            target.triple(),
        ]));
        assert!(alone.contains(&format!("target {target}")), "{alone}");
    }
}

#[test]
fn bad_readobj_json_is_one_line_and_exit_status_1() {
    let object = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    let json = readobj_json(object.path());
    let text = std::fs::read_to_string(&json).unwrap();

    let truncated = scratch("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    assert_one_line_error(
        &patchjit(&["dump", "--readobj-json", truncated.to_str().unwrap()]),
        "truncated.json",
    );

    let garbage = scratch("garbage.json");
    std::fs::write(&garbage, "{\"Sections\": [1, 2]}").unwrap();
    assert_one_line_error(
        &patchjit(&[
            "dump",
            "--readobj-json",
            garbage.to_str().unwrap(),
            "--target",
            "x86_64-unknown-linux-gnu",
        ]),
        "garbage.json",
    );

    assert_one_line_error(
        &patchjit(&[
            "dump",
            "--readobj-json",
            json.to_str().unwrap(),
            "--target",
            "aarch64-apple-darwin",
        ]),
        "not one for the requested target aarch64-apple-darwin",
    );

    let missing = scratch("missing.json");
    assert_one_line_error(
        &patchjit(&["dump", "--readobj-json", missing.to_str().unwrap()]),
        "missing.json",
    );
}

/// `patchjit dump` of an object with stdout connected to `stdout`.
fn dump_into(object: &Path, stdout: std::process::Stdio) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .arg("dump")
        .arg(object)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run patchjit")
}

#[test]
fn a_closed_pipe_ends_the_dump_quietly() {
    let object = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    let output = dump_into(object.path(), closed_pipe().into());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");

    // The same through a shell pipeline, with the dump's own status kept.
    let output = Command::new("bash")
        .arg("-c")
        .arg("set -o pipefail; \"$0\" dump \"$1\" | head -1")
        .arg(env!("CARGO_BIN_EXE_patchjit"))
        .arg(object.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "target x86_64-unknown-linux-gnu\n"
    );
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn a_full_disk_is_one_line_and_exit_status_1() {
    let object = compile(Target::X86_64UnknownLinuxGnu, "calls", &[]);
    assert_one_line_error(
        &dump_into(object.path(), full_disk().into()),
        "writing to stdout: No space left on device",
    );
}

#[test]
fn an_endless_input_is_refused() {
    assert_one_line_error(
        &patchjit(&["dump", "/dev/zero"]),
        "/dev/zero: larger than 64 MiB",
    );
    assert_one_line_error(
        &patchjit(&["dump", "--readobj-json", "/dev/zero"]),
        "/dev/zero: larger than 64 MiB",
    );
}

#[test]
fn help_on_a_full_disk_is_one_line_and_exit_status_1() {
    let output = Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .args(["dump", "--help"])
        .stdout(full_disk())
        .output()
        .unwrap();
    assert_one_line_error(&output, "writing to stdout: No space left on device");
    let output = Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .arg("--version")
        .stdout(closed_pipe())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    // Help itself is unchanged.
    let help = stdout(&patchjit(&["dump", "--help"]));
    assert!(
        help.contains("Show the stencils an object file becomes."),
        "{help}"
    );
}
