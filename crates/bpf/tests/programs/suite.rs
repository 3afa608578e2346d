//! The clang-compiled benchmark programs (`bench_*.c` beside this file), shared by their
//! correctness test (`tests/bench_programs.rs`: eBPF against the same C compiled natively) and
//! the rbpf comparison (`bench/bpf-compare`: every engine against patchjit's interpreter), so
//! that what is timed is what is tested.

use std::path::Path;
use std::process::Command;

use patchjit_bpf::elf::load;
use patchjit_bpf::isa::RawInsn;
use patchjit_bpf::vm::{Helpers, PlainHelper};

/// The programs, by file name (each exercises one kind of work, named by its first line).
pub const PROGRAMS: [&str; 6] = [
    "bench_loop.c",
    "bench_memory.c",
    "bench_calls.c",
    "bench_local_calls.c",
    "bench_branches.c",
    "bench_checksum.c",
];

/// `INPUT_LEN` of `bench.h`: the size of the input every program reads through r1.
pub const INPUT_LEN: usize = 256;

/// A helper as rbpf registers it: r1–r5 in, r0 out.
pub type RawHelper = fn(u64, u64, u64, u64, u64) -> u64;

/// The helpers `bench.h` declares, by id, with the functions it defines for native builds
/// (as rbpf registers them, and as patchjit's plain helpers).
pub const HELPERS: [(u32, &str, RawHelper, PlainHelper); 2] =
    [(1, "mix", mix, plain_mix), (2, "rotl", rotl, plain_rotl)];

fn mix(h: u64, v: u64, _: u64, _: u64, _: u64) -> u64 {
    let h = (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^ (h >> 29)
}

fn rotl(x: u64, n: u64, _: u64, _: u64, _: u64) -> u64 {
    x.rotate_left((n & 63) as u32)
}

extern "C" fn plain_mix(h: u64, v: u64, c: u64, d: u64, e: u64) -> u64 {
    mix(h, v, c, d, e)
}

extern "C" fn plain_rotl(x: u64, n: u64, c: u64, d: u64, e: u64) -> u64 {
    rotl(x, n, c, d, e)
}

/// [`HELPERS`] registered for patchjit-bpf's tiers, as plain helpers (they only compute on
/// their arguments, like rbpf's).
pub fn helpers() -> Helpers {
    let mut helpers = Helpers::new();
    for (id, name, _, plain) in HELPERS {
        helpers.register_plain(id, name, plain);
    }
    helpers
}

/// The input every program runs on: INPUT_LEN bytes of a fixed pseudo-random sequence.
pub fn input() -> Vec<u8> {
    let mut x = 0x2545_f491u32;
    (0..INPUT_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The C compiler: `PATCHJIT_CLANG`, else `clang-19`.
pub fn clang() -> String {
    std::env::var("PATCHJIT_CLANG").unwrap_or_else(|_| "clang-19".to_string())
}

/// Compiles `dir/file` with `clang -target bpf -O2 -mcpu=v3 -c` (v3: ALU32 and JMP32, the
/// newest level rbpf implements) and loads its `entry`.
pub fn compile(dir: &Path, file: &str) -> Result<Vec<RawInsn>, String> {
    let src = dir.join(file);
    let mut cmd = Command::new(clang());
    cmd.args(["-target", "bpf", "-O2", "-mcpu=v3", "-c", "-o", "-"])
        .arg(&src);
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    load(&out.stdout, Some("entry")).map_err(|e| format!("{}: {e}", src.display()))
}
