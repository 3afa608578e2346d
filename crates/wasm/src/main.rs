//! `patchjit-wasm`: run the `.wast` spec suite per tier, or invoke an export of a module.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

use patchjit_wasm::module::Module;
use patchjit_wasm::runner::run_file;
use patchjit_wasm::store::{Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::types::{ExternKind, ValType, Value};

/// Largest module or script read (256 MiB): far above any real module, and a clear refusal
/// for `/dev/zero` or a mistaken path instead of reading until memory runs out.
const MAX_FILE_SIZE: u64 = 256 << 20;

#[derive(Parser)]
#[command(
    name = "patchjit-wasm",
    about = "WebAssembly 1.0 engine: spec-suite runner and module runner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `--tier`: the names of the tiers this build has.
fn tier_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(Tier::ALL.iter().map(|t| t.name()))
}

fn tier_named(name: &str) -> Tier {
    Tier::from_name(name).expect("clap accepts only the names of Tier::ALL")
}

#[derive(Subcommand)]
enum Command {
    /// Run `.wast` scripts (files, or every `.wast` of a directory); prints
    /// `FILE: N passed, N failed` per file, each failure as `FILE:LINE: ...`, and a closing
    /// `TIER: N passed, N failed` line per tier.
    Wast {
        /// Scripts or directories of scripts.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Tier(s) to run (default: all).
        #[arg(long, value_parser = tier_parser())]
        tier: Vec<String>,
    },
    /// Instantiate a binary module (no imports) and call one export; prints each result.
    Run {
        /// The `.wasm` file.
        module: PathBuf,
        /// The exported function to call.
        #[arg(long)]
        invoke: String,
        /// Arguments, one per parameter: integers (decimal or 0x hex) or floats.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
        /// The tier that runs it.
        #[arg(long, value_parser = tier_parser(), default_value = "interpreter")]
        tier: String,
    },
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
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::BrokenPipe => Stop::ClosedPipe,
            _ => Stop::Error(format!("writing to stdout: {e}")),
        })
}

/// Reads a whole module, refusing more than [`MAX_FILE_SIZE`] bytes.
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
            "{}: larger than {} MiB; not a module",
            path.display(),
            MAX_FILE_SIZE >> 20
        ));
    }
    Ok(bytes)
}

/// The scripts `paths` name: files as given, directories' `.wast` files sorted by name.
fn scripts(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "wast"))
                .collect();
            if found.is_empty() {
                return Err(format!("{}: no .wast files", path.display()));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// An argument of type `ty`: an integer (decimal, or hex with `0x`, either sign) or, for a
/// float, a Rust float literal (`inf`, `nan` included).
fn parse_arg(text: &str, ty: ValType) -> Result<Value, String> {
    let bad = || format!("`{text}` is not an {ty}");
    // An integer of `bits` bits: its signed or its unsigned reading, as the bit pattern.
    let int = |bits: u32| -> Result<u64, String> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let v = match digits.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16),
            None => digits.parse::<i128>(),
        }
        .map_err(|_| bad())?;
        let v = if neg { -v } else { v };
        if v < -(1i128 << (bits - 1)) || v >= 1i128 << bits {
            return Err(bad());
        }
        Ok(v as u64)
    };
    Ok(match ty {
        ValType::I32 => Value::I32(int(32)? as u32 as i32),
        ValType::I64 => Value::I64(int(64)? as i64),
        ValType::F32 => Value::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Value::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
    })
}

fn print_value(v: Value) -> String {
    match v {
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(b) => format!("{}", f32::from_bits(b)),
        Value::F64(b) => format!("{}", f64::from_bits(b)),
    }
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
        Command::Wast { paths, tier } => {
            let tiers: Vec<Tier> = if tier.is_empty() {
                Tier::ALL.to_vec()
            } else {
                tier.iter().map(|t| tier_named(t)).collect()
            };
            let files = scripts(&paths)?;
            let mut ok = true;
            for t in tiers {
                let (mut passed, mut failed) = (0, 0);
                for file in &files {
                    let name = file.file_name().map_or(file.as_os_str(), |n| n);
                    let name = name.to_string_lossy();
                    match run_file(file, t) {
                        Ok(report) => {
                            emit(format_args!(
                                "{name}: {} passed, {} failed\n",
                                report.passed,
                                report.failures.len()
                            ))?;
                            for f in &report.failures {
                                emit(format_args!("  {name}:{}: {}\n", f.line, f.message))?;
                            }
                            passed += report.passed;
                            failed += report.failures.len();
                        }
                        Err(e) => {
                            // A script that cannot be parsed is one failed check.
                            emit(format_args!("{name}: 0 passed, 1 failed\n  {e}\n"))?;
                            failed += 1;
                        }
                    }
                }
                emit(format_args!(
                    "{}: {passed} passed, {failed} failed\n",
                    t.name()
                ))?;
                ok &= failed == 0;
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            module,
            invoke,
            args,
            tier,
        } => {
            let bytes = read_file(&module)?;
            let ctx = |e: String| format!("{}: {e}", module.display());
            let decoded = Module::decode(&bytes).map_err(|e| ctx(e.to_string()))?;
            if let Some(import) = decoded.imports().first() {
                return Err(ctx(format!(
                    "imports `{}`.`{}`; `run` takes modules without imports",
                    import.module, import.name
                ))
                .into());
            }
            let funcs: Vec<&str> = decoded
                .exports()
                .iter()
                .filter(|e| e.kind == ExternKind::Func)
                .map(|e| e.name.as_str())
                .collect();
            if !funcs.contains(&invoke.as_str()) {
                return Err(ctx(format!(
                    "no exported function `{invoke}` (exported: {})",
                    funcs.join(", ")
                ))
                .into());
            }
            let mut store = Store::new(tier_named(&tier));
            let instance = store
                .instantiate(Rc::new(decoded), &|_, _| None)
                .map_err(|e| ctx(e.to_string()))?;
            let Some(Extern::Func(addr)) = store.export(instance, &invoke) else {
                unreachable!("`{invoke}` is an exported function")
            };
            let params = store.func_type(addr).params.clone();
            if params.len() != args.len() {
                return Err(ctx(format!(
                    "`{invoke}` takes {} arguments ({}), {} given",
                    params.len(),
                    store.func_type(addr),
                    args.len()
                ))
                .into());
            }
            let values = args
                .iter()
                .zip(&params)
                .map(|(a, &ty)| parse_arg(a, ty))
                .collect::<Result<Vec<_>, _>>()?;
            let results = store
                .invoke(addr, &values)
                .map_err(|e| ctx(format!("`{invoke}`: {e}")))?;
            for r in results {
                emit(format_args!("{}\n", print_value(r)))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
