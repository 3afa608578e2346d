//! Perf map and GDB JIT registration, checked with the real tools' inputs: the perf map file,
//! the registered in-memory ELF (parsed with `object`), and GDB itself naming a JIT frame.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

#[cfg(feature = "gdb-jit")]
use patchjit::visibility::gdb;
use patchjit::visibility::perf_map_path;
use patchjit::{
    Emitter, Hole, HoleValue, Instruction, Options, PatchKind, Stencil, StencilGroup, StencilTable,
};
use std::process::{Command, Output};

const EMPTY: Stencil = Stencil {
    len: 0,
    body: &[],
    holes: &[],
};

/// `mov eax, OPARG; jmp CONTINUE`, `int3; ret`, `ret`.
static GROUPS: &[StencilGroup] = &[
    StencilGroup {
        name: "set",
        data_align: 8,
        code: Stencil {
            len: 10,
            body: &[0xB8, 0, 0, 0, 0, 0xE9],
            holes: &[
                Hole {
                    offset: 1,
                    patch: PatchKind::Abs32,
                    value: HoleValue::Oparg,
                    symbol: None,
                    addend: 0,
                },
                Hole {
                    offset: 6,
                    patch: PatchKind::Rel32,
                    value: HoleValue::Continue,
                    symbol: None,
                    addend: -4,
                },
            ],
        },
        data: EMPTY,
    },
    StencilGroup {
        name: "trap",
        data_align: 8,
        code: Stencil {
            len: 2,
            body: &[0xCC, 0xC3],
            holes: &[],
        },
        data: EMPTY,
    },
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

static TABLE: StencilTable = StencilTable {
    target: "x86_64-unknown-linux-gnu",
    groups: GROUPS,
    symbols: &[],
    custom_values: &[],
};

fn program(with_trap: bool) -> Emitter<'static> {
    let mut e = Emitter::new(&TABLE, &[]).unwrap();
    e.push(Instruction {
        oparg: 7,
        ..Instruction::new(0)
    })
    .unwrap();
    if with_trap {
        e.push(Instruction::new(1)).unwrap();
    }
    e.push(Instruction::new(2)).unwrap();
    e
}

#[test]
fn perf_map_has_one_line_per_instruction() {
    let code = program(false)
        .finish(&Options {
            perf_map: true,
            ..Options::default()
        })
        .unwrap();
    let map = std::fs::read_to_string(perf_map_path()).unwrap();
    for (i, name) in ["set", "ret"].iter().enumerate() {
        let start = code.instruction_start(i).unwrap();
        let line = format!(
            "{start:x} {:x} patchjit:{i}:{name}",
            if i == 0 { 10 } else { 1 }
        );
        assert!(map.lines().any(|l| l == line), "{line:?} not in\n{map}");
    }
}

/// Runs this test binary's `test` alone as a child with `env` set (`command` is the binary, or
/// a runner such as gdb given it).
fn run_child(mut command: Command, test: &str, env: &str) -> Output {
    command
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env, "1")
        .output()
        .unwrap()
}

/// Runs in a child (its own pid, so its own perf map path): plants a symlink where the map goes.
#[test]
fn perf_map_child_with_planted_symlink() {
    if std::env::var_os("PATCHJIT_PERF_CHILD").is_none() {
        return;
    }
    let path = perf_map_path();
    assert!(
        std::fs::symlink_metadata(&path).is_err(),
        "{path} exists; not touching it"
    );
    let target = std::env::temp_dir().join(format!("patchjit-precious-{}", std::process::id()));
    std::fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let result = program(false).finish(&Options {
        perf_map: true,
        ..Options::default()
    });
    std::fs::remove_file(&path).unwrap();
    let contents = std::fs::read_to_string(&target).unwrap();
    std::fs::remove_file(&target).unwrap();
    let error = result.err().expect("refused");
    assert!(matches!(error, patchjit::EmitError::PerfMap(_)), "{error}");
    assert_eq!(
        error.to_string(),
        format!("refusing perf map {path}: it is a symbolic link")
    );
    assert_eq!(contents, "precious\n", "the link was followed");
}

#[test]
fn perf_map_does_not_follow_a_planted_symlink() {
    let out = run_child(
        Command::new(std::env::current_exe().unwrap()),
        "perf_map_child_with_planted_symlink",
        "PATCHJIT_PERF_CHILD",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(feature = "gdb-jit")]
#[test]
fn gdb_symfile_names_every_instruction() {
    use object::{Object, ObjectSection, ObjectSymbol};
    let code = program(false)
        .finish(&Options {
            gdb: true,
            ..Options::default()
        })
        .unwrap();
    let start0 = code.instruction_start(0).unwrap() as u64;
    let files = gdb::registered_symfiles();
    // The copies outlive the unit: reading them after it is freed is sound.
    drop(code);
    let file = files
        .iter()
        .map(|f| object::File::parse(f.as_slice()).unwrap())
        .find(|f| {
            f.section_by_name(".text")
                .is_some_and(|s| s.address() == start0)
        })
        .expect("unit registered");
    let names: Vec<(String, u64, u64)> = file
        .symbols()
        .map(|s| (s.name().unwrap().to_string(), s.address(), s.size()))
        .collect();
    assert_eq!(
        names,
        [
            ("patchjit:0:set".to_string(), 0, 10),
            ("patchjit:1:ret".to_string(), 10, 1)
        ]
    );
    assert!(gdb::registered_symfiles().iter().all(|f| {
        object::File::parse(f.as_slice())
            .unwrap()
            .section_by_name(".text")
            .map(|s| s.address())
            != Some(start0)
    }));
}

/// Runs in a child under GDB: executes JIT code that hits `int3`.
#[cfg(feature = "gdb-jit")]
#[test]
fn gdb_child_hits_trap() {
    if std::env::var_os("PATCHJIT_GDB_CHILD").is_none() {
        return;
    }
    let code = program(true)
        .finish(&Options {
            gdb: true,
            ..Options::default()
        })
        .unwrap();
    // SAFETY: the program is a complete function returning eax.
    let f: extern "C" fn() -> u32 = unsafe { code.entry() };
    assert_eq!(f(), 7);
}

/// Needs `gdb` (CI installs it).
#[cfg(feature = "gdb-jit")]
#[test]
fn gdb_names_the_jit_frame() {
    let mut gdb = Command::new("gdb");
    gdb.args([
        "-batch",
        "-nx",
        "-ex",
        "run",
        "-ex",
        "info symbol $pc",
        "--args",
    ])
    .arg(std::env::current_exe().unwrap());
    let out = run_child(gdb, "gdb_child_hits_trap", "PATCHJIT_GDB_CHILD");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("patchjit:1:trap + 1 in section .text"),
        "gdb did not name the JIT frame:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Without the feature the descriptor symbols are not defined, so registration is refused
/// instead of silently skipped.
#[cfg(not(feature = "gdb-jit"))]
#[test]
fn gdb_registration_needs_the_feature() {
    let error = program(false)
        .finish(&Options {
            gdb: true,
            ..Options::default()
        })
        .err()
        .expect("refused");
    assert!(
        matches!(error, patchjit::EmitError::GdbUnavailable),
        "{error}"
    );
    assert!(error.to_string().contains("`gdb-jit` feature"), "{error}");
}
