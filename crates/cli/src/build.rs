//! `patchjit build`: compiles C templates and writes the Rust stencil table, or checks that a
//! committed table is still what the templates produce.

use std::path::{Path, PathBuf};
use std::time::Instant;

use patchjit_build::{find_clang, freshness, Builder, Event, Freshness, Target};

use crate::output::{self, note, Progress};

/// Compile C templates with clang (19 or newer) and write a Rust stencil table.
///
/// Each template is one operation (a `_JIT_ENTRY` function, see docs/templates.md); its file
/// stem names the stencil group. Objects are cached by content, so an unchanged rebuild runs no
/// compiler. A progress bar (on a terminal) and a summary go to stderr.
///
/// Example: patchjit build --target x86_64-unknown-linux-gnu -o stencils/x86_64-unknown-linux-gnu.rs templates/*.c
#[derive(clap::Args)]
pub struct Args {
    /// Target triple, e.g. x86_64-unknown-linux-gnu or aarch64-unknown-linux-gnu.
    #[arg(long, value_parser = parse_target)]
    target: Target,
    /// Write the Rust table here (default: stdout).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Also write the stencils as JSON (the schema of `patchjit dump --format json`).
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Do not write: regenerate and fail (exit 1, with a summary of the difference) if OUT (and
    /// OUT.json, if given) is stale. Requires -o.
    #[arg(long, requires = "output")]
    check: bool,
    /// Add an include directory (patchjit.h's directory is always included).
    #[arg(short = 'I', value_name = "DIR")]
    include: Vec<PathBuf>,
    /// Define a macro: -D NAME or -D NAME=VALUE.
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    define: Vec<String>,
    /// Extra clang flag (repeatable), e.g. --flag=-march=native.
    #[arg(long = "flag", value_name = "FLAG", allow_hyphen_values = true)]
    flags: Vec<String>,
    /// Declare a client-defined hole value `_JIT_<NAME>` (repeatable; order sets the index).
    #[arg(long = "custom-value", value_name = "NAME")]
    custom_values: Vec<String>,
    /// Allow templates to reference this external symbol (repeatable). Without any, every
    /// symbol is allowed.
    #[arg(long = "allow-symbol", value_name = "NAME")]
    allow_symbols: Vec<String>,
    /// A template (by stem) that may call `_JIT_CONTINUE`: the entry shim (repeatable).
    #[arg(long = "shim", value_name = "NAME")]
    shims: Vec<String>,
    /// Largest code size of one stencil in bytes.
    #[arg(long, default_value_t = patchjit_build::DEFAULT_MAX_CODE_SIZE)]
    max_code_size: usize,
    /// Where compiled objects are cached (default: $XDG_CACHE_HOME/patchjit, ~/.cache/patchjit,
    /// else a directory of your own under the temporary directory).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Print only errors.
    #[arg(short, long)]
    quiet: bool,
    /// The template files.
    #[arg(required = true, value_name = "TEMPLATES")]
    templates: Vec<PathBuf>,
}

fn parse_target(triple: &str) -> Result<Target, String> {
    Target::from_triple(triple).ok_or_else(|| {
        let known: Vec<&str> = Target::ALL.iter().map(|t| t.triple()).collect();
        format!("unknown target {triple:?} (known: {})", known.join(", "))
    })
}

/// The user's cache directory for `patchjit build` and `patchjit cpython`.
pub fn default_cache_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("patchjit"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(home).join(".cache/patchjit"));
    }
    Ok(patchjit_build::private_temp_dir()
        .map_err(|e| e.to_string())?
        .join("cache"))
}

pub fn run(args: Args) -> Result<(), String> {
    let start = Instant::now();
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir()?,
    };
    std::fs::create_dir_all(&cache_dir).map_err(|e| format!("{}: {e}", cache_dir.display()))?;
    let mut builder = Builder::new()
        .templates(&args.templates)
        .target(args.target)
        .custom_values(&args.custom_values)
        .shims(&args.shims)
        .max_code_size(args.max_code_size)
        .cache_dir(&cache_dir)
        .cargo_metadata(false);
    if !args.allow_symbols.is_empty() {
        builder = builder.allow_symbols(&args.allow_symbols);
    }
    for dir in &args.include {
        builder = builder.include(dir);
    }
    for define in &args.define {
        builder = match define.split_once('=') {
            Some((key, value)) => builder.define(key, Some(value)),
            None => builder.define(define, None),
        };
    }
    for flag in &args.flags {
        builder = builder.flag(flag);
    }
    let progress = Progress::new(args.quiet);
    let show = |event: Event<'_>| progress.show(event);
    let report = match (&args.output, args.check) {
        // Writing files: the builder's own build, with its no-op fast path.
        (Some(path), false) => {
            builder = builder.out_path(path);
            if let Some(json) = &args.json {
                builder = builder.json_path(json);
            }
            let report = builder.build_with_progress(&show);
            progress.clear();
            let report = report.map_err(|e| e.to_string())?;
            for (_, text) in &report.warnings {
                note(format_args!("{text}"));
            }
            report
        }
        (output, check_only) => {
            let clang = find_clang(Some(&cache_dir)).map_err(|e| e.to_string())?;
            let generated = builder.generate_with(&clang, &show);
            progress.clear();
            let generated = generated.map_err(|e| e.to_string())?;
            for (_, text) in &generated.report.warnings {
                note(format_args!("{text}"));
            }
            match output {
                Some(path) if check_only => {
                    check(path, &generated.rust)?;
                    if let Some(json) = &args.json {
                        check(json, &generated.json())?;
                    }
                    if !args.quiet {
                        note(format_args!("{} is up to date\n", path.display()));
                    }
                }
                _ => {
                    output::print(&generated.rust)?;
                    if let Some(json) = &args.json {
                        patchjit_build::write_if_changed(json, generated.json().as_bytes())
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            generated.report
        }
    };
    if !args.quiet {
        let r = &report;
        let holes: Vec<String> = r.holes.iter().map(|(k, n)| format!("{k:?} {n}")).collect();
        note(format_args!(
            "{} stencils, {} code bytes, {} data bytes; holes: {}; {} compiled, {} cached; {:.3} s\n",
            r.stencils,
            r.code_bytes,
            r.data_bytes,
            if holes.is_empty() {
                "none".to_string()
            } else {
                holes.join(", ")
            },
            r.compiled,
            r.cached,
            start.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

/// `--check`: an error saying where `path` differs from what was generated for it.
fn check(path: &Path, generated: &str) -> Result<(), String> {
    match freshness(path, generated) {
        Freshness::UpToDate => Ok(()),
        Freshness::Unreadable(e) => Err(format!("{}: {e} (nothing to check)", path.display())),
        Freshness::Stale { summary } => Err(format!(
            "{} is stale: {summary}\nregenerate it: run the same command without --check",
            path.display()
        )),
    }
}
