//! The benchmark programs of tests/programs (those bench/bpf-compare times on every engine)
//! give, on the interpreter and the JIT (with and without a budget), the result and the
//! memory of the same C compiled natively. Needs `clang-19` (or PATCHJIT_CLANG).

#[path = "programs/suite.rs"]
mod suite;

use std::path::{Path, PathBuf};
use std::process::Command;

use patchjit_bpf::interp::Interpreter;

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

/// `r0` in hex, a space, the memory afterwards in hex: what both sides print.
fn outcome(r0: u64, mem: &[u8]) -> String {
    let hex: String = mem.iter().map(|b| format!("{b:02x}")).collect();
    format!("{r0:x} {hex}")
}

/// Runs `entry(mem)` of `file` compiled natively (bench.h then defines the helpers in C).
fn native(file: &str) -> String {
    let dir = std::env::temp_dir().join(format!(
        "patchjit-bench-programs-{}-{file}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let init: Vec<String> = suite::input().iter().map(|b| b.to_string()).collect();
    let driver = dir.join("driver.c");
    std::fs::write(
        &driver,
        format!(
            "#include \"{}\"\nint printf(const char *, ...);\n\
             int main(void) {{ unsigned char mem[INPUT_LEN] = {{{}}};\n\
             unsigned long long r = entry(mem);\n printf(\"%llx \", r);\n\
             for (int i = 0; i < INPUT_LEN; i++) printf(\"%02x\", mem[i]);\n return 0; }}\n",
            programs_dir().join(file).display(),
            init.join(",")
        ),
    )
    .unwrap();
    let exe = dir.join("native");
    run(Command::new(suite::clang())
        .args(["-O2", "-w"])
        .arg(&driver)
        .arg("-o")
        .arg(&exe));
    let printed = run(&mut Command::new(&exe));
    std::fs::remove_dir_all(&dir).ok();
    printed
}

/// Runs `cmd`, which must succeed; returns its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bench_programs_match_native() {
    assert_eq!(suite::input().len(), suite::INPUT_LEN);
    for file in suite::PROGRAMS {
        let expected = native(file);
        let prog = suite::compile(&programs_dir(), file).unwrap_or_else(|e| panic!("{e}"));
        let vm = Interpreter::new(prog.clone(), suite::helpers())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut runs = vec![("interpreter", {
            let mut mem = suite::input();
            (vm.run(&mut mem), mem)
        })];
        #[cfg(bpf_jit)]
        {
            use patchjit_bpf::jit::Jit;
            let jit =
                Jit::new(prog.clone(), suite::helpers()).unwrap_or_else(|e| panic!("{file}: {e}"));
            let budgeted = Jit::with_budget(
                prog,
                suite::helpers(),
                &patchjit::Options::default(),
                10_000_000,
            )
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            for (tier, jit) in [("JIT", jit), ("JIT with a budget", budgeted)] {
                let mut mem = suite::input();
                runs.push((tier, (jit.run(&mut mem), mem)));
            }
        }
        for (tier, (r0, mem)) in runs {
            let r0 = r0.unwrap_or_else(|e| panic!("{file} {tier}: {e}"));
            assert_eq!(outcome(r0, &mem), expected, "{file}: {tier} vs native");
        }
    }
}
