//! Acceptance: on a real CPython 3.14 tree, `patchjit cpython` writes the same headers as the
//! tree's own `Tools/jit/build.py` (run with python3 and the same LLVM 19), except for `//`
//! comment lines. Needs PATCHJIT_CPYTHON_SRC (the source tree) and PATCHJIT_CPYTHON_BUILD (its
//! configured build directory, for pyconfig.h); skipped otherwise.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use patchjit_build::cpython::{run, CodeComments, Job, PatchDialect, TargetHeader};
use patchjit_build::Event;
use patchjit_stencils::{Extraction, Hole, HoleValue, PatchKind, RelocKind, Stencil, StencilGroup};

/// The CPython source tree and its configured build directory, when both are given; else None
/// (saying the test is skipped).
fn cpython_dirs() -> Option<(PathBuf, PathBuf)> {
    let dir = |name| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
    };
    let dirs = dir("PATCHJIT_CPYTHON_SRC").zip(dir("PATCHJIT_CPYTHON_BUILD"));
    if dirs.is_none() {
        println!("skipped: PATCHJIT_CPYTHON_SRC or PATCHJIT_CPYTHON_BUILD not set");
    }
    dirs
}

/// A scratch directory, removed when the test ends.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("patchjit-cpyref-{name}-"))
        .tempdir()
        .unwrap()
}

/// The lines that carry meaning: everything but `//` comment lines.
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

fn compare(ours: &str, theirs: &str, what: &str) {
    let (a, b) = (code_lines(ours), code_lines(theirs));
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        let context =
            |lines: &[&str]| lines[i.saturating_sub(3)..(i + 3).min(lines.len())].join("\n");
        panic!(
            "{what}: first difference at code line {i}:\n--- patchjit\n{}\n--- Tools/jit/build.py\n{}",
            context(&a),
            context(&b)
        );
    }
}

/// How many lines differ, counting comments (the stretch goal is zero).
fn differing_lines(ours: &str, theirs: &str) -> usize {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    (0..a.len().max(b.len()))
        .filter(|&i| a.get(i) != b.get(i))
        .count()
}

fn build_py(src: &Path, build: &Path, triple: &str, cflags: &str, out: &Path) {
    let status = Command::new("python3")
        .arg(src.join("Tools/jit/build.py"))
        .arg(triple)
        .arg("--output-dir")
        .arg(out)
        .arg("--pyconfig-dir")
        .arg(build)
        .arg(format!("--cflags={cflags}"))
        .arg("--force")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "Tools/jit/build.py {triple} failed");
}

fn patchjit(
    src: &Path,
    build: &Path,
    triple: &str,
    cflags: &str,
    out: &Path,
    force: bool,
) -> Vec<String> {
    let job = Job {
        triples: vec![triple.to_string()],
        output_dir: out.to_path_buf(),
        pyconfig_dir: build.to_path_buf(),
        cpython_root: Some(src.to_path_buf()),
        cflags: cflags.to_string(),
        debug: false,
        force,
        verbose: false,
        command: format!("patchjit cpython {triple}"),
        jobs: 0,
        cache_dir: None,
        precompiled_header: true,
        code_comments: CodeComments::Objdump { fallback: false },
    };
    let events = std::sync::Mutex::new(Vec::new());
    run(&job, &|event| match event {
        Event::UpToDate { .. } => events.lock().unwrap().push("up-to-date".to_string()),
        Event::Wrote { path } => events
            .lock()
            .unwrap()
            .push(path.file_name().unwrap().to_string_lossy().into_owned()),
        _ => {}
    })
    .unwrap_or_else(|e| panic!("patchjit cpython {triple}: {e}"));
    events.into_inner().unwrap()
}

#[test]
fn headers_match_tools_jit_build_py() {
    let Some((src, build)) = cpython_dirs() else {
        return;
    };
    let aarch64_cflags = "-isystem /usr/aarch64-linux-gnu/include";
    for (triple, cflags) in [
        ("x86_64-unknown-linux-gnu", ""),
        ("x86_64-pc-linux-gnu", ""),
        ("aarch64-unknown-linux-gnu", aarch64_cflags),
    ] {
        let ours = scratch(&format!("{triple}-patchjit"));
        let theirs = scratch(&format!("{triple}-python"));
        let start = Instant::now();
        patchjit(&src, &build, triple, cflags, ours.path(), true);
        let patchjit_time = start.elapsed();
        let start = Instant::now();
        build_py(&src, &build, triple, cflags, theirs.path());
        let python_time = start.elapsed();

        let name = format!("jit_stencils-{triple}.h");
        let a = fs::read_to_string(ours.path().join(&name)).unwrap();
        let b = fs::read_to_string(theirs.path().join(&name)).unwrap();
        compare(&a, &b, &name);
        // The digest is CPython's own, so either tool sees the other's header as up to date.
        assert_eq!(a.lines().next(), b.lines().next(), "{name}: digest line");
        let umbrella_a = fs::read_to_string(ours.path().join("jit_stencils.h")).unwrap();
        let umbrella_b = fs::read_to_string(theirs.path().join("jit_stencils.h")).unwrap();
        compare(&umbrella_a, &umbrella_b, "jit_stencils.h");
        println!(
            "{triple}: equal except comments ({} of {} lines differ in all, the command line included); patchjit {:.2} s, build.py {:.2} s",
            differing_lines(&a, &b),
            b.lines().count(),
            patchjit_time.as_secs_f64(),
            python_time.as_secs_f64()
        );

        // Nothing changed: patchjit leaves its own header and CPython's alone.
        assert_eq!(
            patchjit(&src, &build, triple, cflags, ours.path(), false),
            ["up-to-date"]
        );
        // (Its umbrella header differs in the comment line, so that one is rewritten.)
        assert_eq!(
            patchjit(&src, &build, triple, cflags, theirs.path(), false)[0],
            "up-to-date"
        );
        assert_eq!(fs::read_to_string(theirs.path().join(&name)).unwrap(), b);
    }
}

/// Runs the tree's own `Tools/jit` modules (compile, parse, `process_relocations`, `_writer`)
/// and prints their stencil groups in a line format, plus the header text their writer makes.
const DUMP_GROUPS_PY: &str = r#"import sys, asyncio, pathlib, re
src, build, triple, cflags, out = sys.argv[1:6]
# The objects stay in <out>.objects for patchjit's extraction to read.
sys.path.insert(0, str(pathlib.Path(src, "Tools", "jit")))
import _targets, _writer, _stencils

target = _targets.get_target(triple)
target.cflags = cflags
target.pyconfig_dir = pathlib.Path(build).resolve()

async def build_groups():
    cases = sorted(re.findall(r"\n {8}(case (\w+): \{\n.*?\n {8}\})", _targets.PYTHON_EXECUTOR_CASES_C_H.read_text(), flags=re.DOTALL))
    template = _targets.TOOLS_JIT_TEMPLATE_C.read_text()
    work = pathlib.Path(out + ".objects").resolve()
    work.mkdir()
    names = ["shim"]
    coros = [target._compile("shim", _targets.TOOLS_JIT / "shim.c", work)]
    for case, name in cases:
        c = work / f"{name}.c"
        c.write_text(template.replace("CASE", case))
        names.append(name)
        coros.append(target._compile(name, c, work))
    return dict(zip(names, await asyncio.gather(*coros)))

groups = asyncio.run(build_groups())
with open(out + ".dump", "w") as f:
    for name, g in groups.items():
        sections = len(g.data.body)
        g.process_relocations(known_symbols=target.known_symbols, alignment=target.alignment, nop=target._get_nop())
        got = len(g.data.body) - 8 * len(g._got)
        print("G", name, g.code.body.hex() or "-", g.data.body.hex() or "-", sections, got,
              ",".join(map(str, sorted(g._trampolines))) or "-", file=f)
        for line in g.code.disassembly:
            print("C", line, file=f)
        for part, s in (("code", g.code), ("data", g.data)):
            for h in s.holes:
                print("H", part, h.offset, h.kind, h.func, h.value.name, h.symbol or "-", _stencils._signed(h.addend), file=f)
    for sym, ordinal in target.known_symbols.items():
        print("S", ordinal, sym, file=f)
with open(out + ".h", "w") as f:
    for line in _writer.dump(groups, target.known_symbols):
        f.write(f"{line}\n")
"#;

fn hex_bytes(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Rebuilds CPython's processed groups as patchjit's model, with their code comments.
fn parse_dump(dump: &str) -> (Extraction, Vec<Vec<String>>) {
    let mut extraction = Extraction::default();
    let mut comments: Vec<Vec<String>> = Vec::new();
    for line in dump.lines() {
        let (tag, rest) = line.split_at(1);
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        let fields: Vec<&str> = rest.split(' ').collect();
        match tag {
            "G" => {
                extraction.groups.push(StencilGroup {
                    name: fields[0].to_string(),
                    code: Stencil {
                        body: hex_bytes(fields[1]),
                        holes: vec![],
                    },
                    data: Stencil {
                        body: hex_bytes(fields[2]),
                        holes: vec![],
                    },
                    data_section_len: fields[3].parse().unwrap(),
                    got_offset: fields[4].parse().unwrap(),
                    data_align: 8,
                    trampolines: if fields[5] == "-" {
                        vec![]
                    } else {
                        fields[5].split(',').map(|o| o.parse().unwrap()).collect()
                    },
                });
                comments.push(Vec::new());
            }
            "C" => comments.last_mut().unwrap().push(rest.to_string()),
            "H" => {
                let group = extraction.groups.last_mut().unwrap();
                let hole = Hole {
                    offset: fields[1].parse().unwrap(),
                    kind: RelocKind::from_name(fields[2])
                        .unwrap_or_else(|| panic!("kind {}", fields[2])),
                    patch: PatchKind::from_func_name(fields[3])
                        .unwrap_or_else(|| panic!("func {}", fields[3])),
                    value: HoleValue::from_builtin_name(fields[4]).unwrap(),
                    symbol: (fields[5] != "-").then(|| fields[5].to_string()),
                    addend: fields[6].parse().unwrap(),
                };
                let stencil = if fields[0] == "code" {
                    &mut group.code
                } else {
                    &mut group.data
                };
                stencil.holes.push(hole);
            }
            "S" => {
                assert_eq!(
                    fields[0].parse::<usize>().unwrap(),
                    extraction.trampoline_symbols.len()
                );
                extraction.trampoline_symbols.push(fields[1].to_string());
            }
            other => panic!("unknown dump line {other:?}"),
        }
    }
    (extraction, comments)
}

/// The writer alone, on CPython's own processed stencil groups: byte-identical text, comments
/// included, to the tree's `_writer.py`.
#[test]
fn writer_matches_tools_jit_writer() {
    let Some((src, build)) = cpython_dirs() else {
        return;
    };
    let scratch = scratch("writer");
    let script = scratch.path().join("dump_groups.py");
    fs::write(&script, DUMP_GROUPS_PY).unwrap();
    let jit_c = fs::read_to_string(src.join("Python/jit.c")).unwrap();
    for (triple, cflags) in [
        ("x86_64-unknown-linux-gnu", ""),
        (
            "aarch64-unknown-linux-gnu",
            "-isystem /usr/aarch64-linux-gnu/include",
        ),
    ] {
        let out = scratch.path().join(triple);
        let status = Command::new("python3")
            .arg(&script)
            .args([src.as_os_str(), build.as_os_str()])
            .args([triple, cflags])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "dump_groups.py {triple}");
        let (extraction, comments) =
            parse_dump(&fs::read_to_string(out.with_extension("dump")).unwrap());
        let ours = TargetHeader {
            digest: "d",
            command: "c",
            extraction: &extraction,
            code_comments: &comments,
            dialect: PatchDialect::of_jit_c(&jit_c),
        }
        .render()
        .unwrap();
        let theirs = fs::read_to_string(out.with_extension("h")).unwrap();
        let ours = ours.splitn(4, '\n').nth(3).unwrap();
        if ours != theirs {
            let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
            let i = (0..a.len().max(b.len()))
                .find(|&i| a.get(i) != b.get(i))
                .unwrap();
            panic!(
                "{triple}: line {i} differs:\n  patchjit: {:?}\n  CPython:  {:?}",
                a.get(i),
                b.get(i)
            );
        }
        println!(
            "{triple}: {} groups, writer output byte-identical to Tools/jit/_writer.py",
            extraction.groups.len()
        );
    }
}
