//! `patchjit-bpf`: run the conformance suite, run programs, assemble and disassemble.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use std::io::Read;

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

use patchjit::Options;
use patchjit_bpf::asm::assemble;
use patchjit_bpf::conformance::{parse_test, run_dir, Outcome, RunError, Tier};
use patchjit_bpf::disasm::disassemble;
use patchjit_bpf::isa::{slots_from_bytes, slots_to_bytes, RawInsn};
use patchjit_bpf::jit::Jit;
use patchjit_bpf::vm::Helpers;

/// Largest program or input file read (64 MiB): far above any real eBPF program (the
/// verifier takes at most 2^20 slots, 8 MiB) or test input, and a clear refusal for
/// `/dev/zero` or a mistaken path instead of reading until memory runs out.
const MAX_FILE_SIZE: u64 = 64 << 20;

#[derive(Parser)]
#[command(
    name = "patchjit-bpf",
    about = "eBPF assembler, verifier, interpreter and copy-and-patch JIT"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--tier`: the names of the tiers this build has (`jit` on Linux x86-64 and AArch64).
fn tier_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(Tier::ALL.iter().map(|t| t.name()))
}

fn tier_named(name: &str) -> Tier {
    Tier::from_name(name).expect("clap accepts only the names of Tier::ALL")
}

#[derive(Subcommand)]
enum Command {
    /// Run every `.data` test of DIR; prints `PASS name` / `FAIL name: reason` and a
    /// closing `TIER: N passed, M failed` line per tier.
    Conformance {
        /// Directory of bpf_conformance `.data` files (or a single file).
        dir: PathBuf,
        /// Tier(s) to run (default: all).
        #[arg(long, value_parser = tier_parser())]
        tier: Vec<String>,
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
        #[arg(long, value_parser = tier_parser(), default_value = "interp")]
        tier: String,
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
        /// List the machine code the JIT compiles it to instead, per eBPF instruction.
        #[arg(long)]
        jit: bool,
        /// With --jit: the code of the unchecked mode (no bounds checks on loads and stores).
        #[arg(long, requires = "jit")]
        unchecked: bool,
    },
}

/// A loaded program and the input memory its file may carry (`.data` tests).
fn load_program(
    path: &Path,
    entry: Option<&str>,
) -> Result<(Vec<RawInsn>, Option<Vec<u8>>), String> {
    let bytes = read_file(path)?;
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

/// Reads a whole program or input file, refusing more than [`MAX_FILE_SIZE`] bytes (a device
/// such as `/dev/zero` never ends).
fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let ctx = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(ctx)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(ctx)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "{}: larger than {} MiB; not a program or input file",
            path.display(),
            MAX_FILE_SIZE >> 20
        ));
    }
    Ok(bytes)
}

/// Why the command stopped early: a message for stderr, or a closed stdout (`| head`), which
/// ends the command quietly, as a pipeline expects.
enum Stop {
    Error(String),
    ClosedPipe,
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Error(message)
    }
}

/// Writes to stdout; a closed pipe stops the command quietly, another failure (a full disk)
/// is an error, never a panic.
fn emit(args: std::fmt::Arguments<'_>) -> Result<(), Stop> {
    std::io::stdout()
        .lock()
        .write_fmt(args)
        .and_then(|()| std::io::stdout().lock().flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Stop::ClosedPipe,
            _ => Stop::Error(format!("writing to stdout: {e}")),
        })
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(Stop::ClosedPipe) => ExitCode::SUCCESS,
        Err(Stop::Error(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<ExitCode, Stop> {
    match Cli::parse().command {
        Command::Conformance {
            dir,
            tier,
            expect_fail,
        } => {
            let tiers: Vec<Tier> = if tier.is_empty() {
                Tier::ALL.to_vec()
            } else {
                tier.iter().map(|t| tier_named(t)).collect()
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
                (None, Some(p)) => read_file(&p)?,
                (None, None) => file_mem.unwrap_or_default(),
            };
            let r0 = tier_named(&tier)
                .run(prog, Helpers::conformance(), budget, &mut input)
                .map_err(|e| match e {
                    // Runtime errors keep the word the interpreter has always used.
                    RunError::Exec(e) => format!("runtime: {e}"),
                    e => e.to_string(),
                })?;
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
        Command::Disasm {
            program,
            entry,
            jit,
            unchecked,
        } => {
            let (prog, _) = load_program(&program, entry.as_deref())?;
            let text = if jit {
                let options = Options::default();
                let compiled = if unchecked {
                    // Only listed, never run.
                    unsafe { Jit::unchecked(prog, Helpers::new(), &options) }
                } else {
                    Jit::with_options(prog, Helpers::new(), &options)
                };
                compiled
                    .map_err(|e| format!("{}: {e}", program.display()))?
                    .disassemble()
            } else {
                disassemble(&prog).map_err(|e| e.to_string())?
            };
            emit(format_args!("{text}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
