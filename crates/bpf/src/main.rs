//! `patchjit-bpf`: run the conformance suite, run programs, assemble and disassemble.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use patchjit_bpf::asm::assemble;
use patchjit_bpf::conformance::{parse_test, run_dir, Outcome, Tier};
use patchjit_bpf::disasm::disassemble;
use patchjit_bpf::interp::Interpreter;
use patchjit_bpf::isa::{slots_from_bytes, slots_to_bytes, RawInsn};
use patchjit_bpf::vm::Helpers;

#[derive(Parser)]
#[command(
    name = "patchjit-bpf",
    about = "eBPF assembler, verifier, interpreter and copy-and-patch JIT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum TierArg {
    /// The interpreter.
    Interp,
    /// The copy-and-patch JIT (Linux x86-64 and AArch64).
    #[cfg(bpf_jit)]
    Jit,
}

impl From<TierArg> for Tier {
    fn from(t: TierArg) -> Tier {
        match t {
            TierArg::Interp => Tier::Interp,
            #[cfg(bpf_jit)]
            TierArg::Jit => Tier::Jit,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run every `.data` test of DIR; prints `PASS name` / `FAIL name: reason` and a
    /// closing `TIER: N passed, M failed` line per tier.
    Conformance {
        /// Directory of bpf_conformance `.data` files (or a single file).
        dir: PathBuf,
        /// Tier(s) to run (default: all).
        #[arg(long, value_enum)]
        tier: Vec<TierArg>,
        /// Negative suite: succeed only if every test fails or is rejected.
        #[arg(long)]
        expect_fail: bool,
    },
    /// Run a program (`.data` test file, `.s`/`.asm` source, ELF object or raw
    /// instruction bytes); prints `r0 = 0x...`.
    Run {
        /// The program file.
        program: PathBuf,
        /// Input memory as hex bytes (spaces allowed).
        #[arg(long, conflicts_with = "mem")]
        mem_hex: Option<String>,
        /// Input memory from a file.
        #[arg(long)]
        mem: Option<PathBuf>,
        /// ELF entry function (default: the only global function, else `entry` or `main`).
        #[arg(long)]
        entry: Option<String>,
        /// Stop with an error after this many taken backward jumps and local calls (both
        /// tiers count the same, so an untrusted program cannot hang the host).
        #[arg(long)]
        budget: Option<u64>,
        /// The tier that runs it.
        #[arg(long, value_enum, default_value = "interp")]
        tier: TierArg,
    },
    /// Assemble a source file to raw instruction bytes.
    Asm {
        /// Assembly source.
        source: PathBuf,
        /// Output file of raw bytes.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Disassemble a program (same formats as `run`).
    Disasm {
        /// The program file.
        program: PathBuf,
        /// ELF entry function.
        #[arg(long)]
        entry: Option<String>,
    },
}

/// A loaded program and the input memory its file may carry (`.data` tests).
fn load_program(
    path: &Path,
    entry: Option<&str>,
) -> Result<(Vec<RawInsn>, Option<Vec<u8>>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let ctx = |e: String| format!("{}: {e}", path.display());
    if bytes.starts_with(b"\x7fELF") {
        return patchjit_bpf::elf::load(&bytes, entry)
            .map(|p| (p, None))
            .map_err(|e| ctx(e.to_string()));
    }
    let text = || String::from_utf8(bytes.clone()).map_err(|_| ctx("not UTF-8 text".into()));
    match ext {
        "data" => {
            let tc = parse_test(&text()?).map_err(|e| ctx(e.to_string()))?;
            let prog = tc.program().map_err(|e| ctx(format!("assembler: {e}")))?;
            Ok((prog, Some(tc.mem)))
        }
        "s" | "asm" => assemble(&text()?)
            .map(|p| (p, None))
            .map_err(|e| ctx(e.to_string())),
        _ => slots_from_bytes(&bytes).map(|p| (p, None)).map_err(ctx),
    }
}

fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("--mem-hex needs an even number of hex digits".into());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .map_err(|_| format!("invalid hex byte `{}`", &digits[i..i + 2]))
        })
        .collect()
}

/// Writes to stdout, turning a closed pipe or other I/O failure into an error, not a panic.
fn emit(args: std::fmt::Arguments<'_>) -> Result<(), String> {
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .map_err(|e| format!("writing to stdout: {e}"))
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<ExitCode, String> {
    match Cli::parse().command {
        Command::Conformance {
            dir,
            tier,
            expect_fail,
        } => {
            let tiers: Vec<Tier> = if tier.is_empty() {
                Tier::ALL.to_vec()
            } else {
                tier.into_iter().map(Tier::from).collect()
            };
            let mut ok = true;
            for t in tiers {
                let results = run_dir(&dir, t).map_err(|e| format!("{}: {e}", dir.display()))?;
                let (mut passed, mut failed) = (0, 0);
                for r in &results {
                    match &r.outcome {
                        Outcome::Pass => {
                            passed += 1;
                            emit(format_args!("PASS {}\n", r.name))?;
                        }
                        Outcome::Fail(why) => {
                            failed += 1;
                            emit(format_args!("FAIL {}: {why}\n", r.name))?;
                        }
                    }
                }
                emit(format_args!(
                    "{}: {passed} passed, {failed} failed\n",
                    t.name()
                ))?;
                ok &= if expect_fail {
                    passed == 0
                } else {
                    failed == 0
                };
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            program,
            mem_hex,
            mem,
            entry,
            budget,
            tier,
        } => {
            let (prog, file_mem) = load_program(&program, entry.as_deref())?;
            let mut input = match (mem_hex, mem) {
                (Some(h), _) => parse_hex(&h)?,
                (None, Some(p)) => {
                    std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?
                }
                (None, None) => file_mem.unwrap_or_default(),
            };
            let r0 = match Tier::from(tier) {
                Tier::Interp => {
                    let mut vm = Interpreter::new(prog, Helpers::conformance())
                        .map_err(|e| format!("verifier: {e}"))?;
                    vm.set_budget(budget);
                    vm.run(&mut input)
                }
                #[cfg(bpf_jit)]
                Tier::Jit => {
                    use patchjit_bpf::jit::Jit;
                    let options = patchjit::Options::default();
                    let helpers = Helpers::conformance();
                    match budget {
                        Some(b) => Jit::with_budget(prog, helpers, &options, b),
                        None => Jit::with_options(prog, helpers, &options),
                    }
                    .map_err(|e| format!("jit: {e}"))?
                    .run(&mut input)
                }
            }
            .map_err(|e| format!("runtime: {e}"))?;
            emit(format_args!("r0 = {r0:#x}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Asm { source, output } => {
            let text = std::fs::read_to_string(&source)
                .map_err(|e| format!("{}: {e}", source.display()))?;
            let prog = assemble(&text).map_err(|e| format!("{}: {e}", source.display()))?;
            std::fs::write(&output, slots_to_bytes(&prog))
                .map_err(|e| format!("{}: {e}", output.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Disasm { program, entry } => {
            let (prog, _) = load_program(&program, entry.as_deref())?;
            emit(format_args!(
                "{}",
                disassemble(&prog).map_err(|e| e.to_string())?
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
