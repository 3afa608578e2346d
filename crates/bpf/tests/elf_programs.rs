//! Compiles the C programs of tests/programs with clang for the eBPF target, loads the
//! objects, runs them on the interpreter and the JIT and compares with the same source compiled
//! natively. Needs `clang-19` (or the compiler named by PATCHJIT_CLANG).

use std::path::{Path, PathBuf};
use std::process::Command;

use patchjit_bpf::elf::{load, ElfError};
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::vm::Helpers;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchjit-bpf-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_cmd(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn compile_bpf(src: &Path, out: &Path, extra: &[&str]) -> Vec<u8> {
    run_cmd(
        Command::new(&patchjit_test_support::clang().path)
            .args(["-target", "bpf", "-O2", "-c"])
            .args(extra)
            .arg(src)
            .arg("-o")
            .arg(out),
    );
    std::fs::read(out).unwrap()
}

fn input() -> Vec<u8> {
    (0..40u32).map(|i| (i * 7 + 3) as u8).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `entry(mem, len)` natively; prints the result and the memory afterwards.
fn native(program: &Path, dir: &Path) -> String {
    let driver = dir.join("driver.c");
    let mem = input();
    let init: Vec<String> = mem.iter().map(|b| b.to_string()).collect();
    std::fs::write(
        &driver,
        format!(
            "#include \"{}\"\nint printf(const char *, ...);\n\
             int main(void) {{ unsigned char mem[{n}] = {{{init}}};\n\
             unsigned long long r = entry(mem, {n});\n printf(\"%llx \", r);\n\
             for (int i = 0; i < {n}; i++) printf(\"%02x\", mem[i]);\n return 0; }}\n",
            program.display(),
            n = mem.len(),
            init = init.join(",")
        ),
    )
    .unwrap();
    let exe = dir.join("native");
    run_cmd(
        Command::new(&patchjit_test_support::clang().path)
            .args(["-O2", "-w"])
            .arg(&driver)
            .arg("-o")
            .arg(&exe),
    );
    run_cmd(&mut Command::new(&exe))
}

fn check_program(name: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(name);
    let dir = scratch(name);
    let expected = native(&src, &dir);
    // Every ISA version clang can target (v4: sign-extending moves and loads, sdiv/smod,
    // gotol, bswap), and one build with BTF and debug sections.
    for flags in [
        &["-mcpu=v1"][..],
        &["-mcpu=v2"],
        &["-mcpu=v3"],
        &["-mcpu=v4"],
        &["-mcpu=v4", "-g"],
    ] {
        let obj = compile_bpf(&src, &dir.join("prog.o"), flags);
        let prog = load(&obj, None).unwrap_or_else(|e| panic!("{name} {flags:?}: {e}"));
        let mut vm = Interpreter::new(prog.clone(), Helpers::new())
            .unwrap_or_else(|e| panic!("{name} {flags:?}: {e}"));
        vm.set_budget(Some(50_000_000));
        let mut runs = vec![("interpreter", {
            let mut mem = input();
            (vm.run(&mut mem), mem)
        })];
        #[cfg(bpf_jit)]
        runs.push(("JIT", {
            let jit = patchjit_bpf::jit::Jit::new(prog, Helpers::new())
                .unwrap_or_else(|e| panic!("{name} {flags:?}: {e}"));
            let mut mem = input();
            (jit.run(&mut mem), mem)
        }));
        for (tier, (r0, mem)) in runs {
            let r0 = r0.unwrap_or_else(|e| panic!("{name} {flags:?} {tier}: {e}"));
            let got = format!("{r0:x} {}", hex(&mem));
            assert_eq!(got, expected, "{name} {flags:?}: {tier} vs native");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn loop_heavy_program_matches_native() {
    check_program("loop.c");
}

#[test]
fn memory_heavy_program_matches_native() {
    check_program("memory.c");
}

fn compile_snippet(name: &str, c: &str) -> Vec<u8> {
    let dir = scratch(name);
    let src = dir.join("p.c");
    std::fs::write(&src, c).unwrap();
    let obj = compile_bpf(&src, &dir.join("p.o"), &[]);
    std::fs::remove_dir_all(&dir).ok();
    obj
}

#[test]
fn cross_section_calls_are_relocated() {
    let obj = compile_snippet(
        "xsec",
        "typedef unsigned long long u64;\n\
         __attribute__((noinline, section(\".text.helpers\"))) static u64 twice(u64 x) { return x * 2 + 1; }\n\
         __attribute__((noinline, section(\".text.helpers\"))) u64 thrice(u64 x) { return x * 3; }\n\
         __attribute__((section(\"prog\"))) u64 entry(void *m, u64 len) { return twice(len) + thrice(len); }\n",
    );
    let prog = load(&obj, None).unwrap();
    let vm = Interpreter::new(prog, Helpers::new()).unwrap();
    assert_eq!(vm.run(&mut [0u8; 5]).unwrap(), 11 + 15);
    let prog = load(&obj, Some("thrice")).unwrap();
    assert!(Interpreter::new(prog, Helpers::new()).is_ok());
    assert!(matches!(
        load(&obj, Some("nope")),
        Err(ElfError::NoEntry(_))
    ));
}

#[test]
fn maps_and_global_data_are_clear_errors() {
    let obj = compile_snippet(
        "maps",
        "struct { int type; int max_entries; } my_map __attribute__((section(\".maps\"), used));\n\
         unsigned long long entry(void *m) { return 0; }\n",
    );
    let e = load(&obj, None).unwrap_err();
    assert!(e.to_string().contains("maps"), "{e}");
    let obj = compile_snippet(
        "gdata",
        "unsigned long long counter;\n\
         unsigned long long entry(void *m, unsigned long long n) { counter += n; return counter; }\n",
    );
    let e = load(&obj, None).unwrap_err();
    assert!(
        matches!(e, ElfError::UnsupportedRelocation { r_type: 1, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("counter"), "{e}");
}

#[test]
fn non_elf_input_is_rejected() {
    assert!(matches!(load(b"not an elf", None), Err(ElfError::Parse(_))));
}
