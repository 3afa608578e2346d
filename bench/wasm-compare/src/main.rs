//! `wasm-compare`: the tables of docs/performance.md from the last `cargo bench` run, and the
//! workloads as files for other tools.
//!
//! ```text
//! wasm-compare ratios [CRITERION_DIR]   # default: this crate's target/criterion
//! wasm-compare write DIR                # DIR/<workload>.wasm, and the command that runs each
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use patchjit_wasm_compare::{generate, report, workload};

const USAGE: &str = "usage: wasm-compare ratios [CRITERION_DIR] | wasm-compare write DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["ratios"] => ratios(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/criterion"
        ))),
        ["ratios", dir] => ratios(PathBuf::from(dir)),
        ["write", dir] => write(PathBuf::from(dir)),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ratios(dir: PathBuf) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!(
            "{}: no criterion results (run `cargo bench` first)",
            dir.display()
        ));
    }
    let code = workload::code_section_len(&generate::module())?;
    out(&report::tables(&dir, code)?)
}

fn write(dir: PathBuf) -> Result<(), String> {
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut commands = String::new();
    for w in workload::all()? {
        let path = dir.join(format!("{}.wasm", w.name));
        std::fs::write(&path, &w.wasm).map_err(|e| format!("{}: {e}", path.display()))?;
        commands += &format!(
            "patchjit-wasm run {} --invoke run {}\n",
            path.display(),
            w.arg
        );
    }
    out(&commands)
}

/// Writes `text` to stdout; a closed pipe (`| head`) ends quietly, another failure is an
/// error, never a panic.
fn out(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("stdout: {e}")),
        _ => Ok(()),
    }
}
