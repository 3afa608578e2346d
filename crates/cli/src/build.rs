//! `patchjit build`: compiles C templates and writes the Rust stencil table, or checks that a
//! committed table is still what the templates produce.

use std::path::PathBuf;
use std::time::Instant;

use patchjit_build::{find_clang, Builder, Progress, Target};

use crate::output::{self, note};

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

fn default_cache_dir() -> Result<PathBuf, String> {
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
    let clang = find_clang(Some(&cache_dir)).map_err(|e| e.to_string())?;
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
    if !args.quiet {
        note(format_args!(
            "patchjit build: {} template(s) for {} with {}\n",
            args.templates.len(),
            args.target,
            clang.version
        ));
    }
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        output::progress_bar(args.templates.len() as u64)
    };
    let progress = |event: Progress<'_>| {
        let Progress::Compiled { source, .. } = event;
        bar.set_message(source.display().to_string());
        bar.inc(1);
    };
    let generated = builder.generate_with(&clang, &progress);
    bar.finish_and_clear();
    let generated = generated.map_err(|e| e.to_string())?;
    for (_, text) in &generated.warnings {
        note(format_args!("{text}"));
    }
    match (&args.output, args.check) {
        (Some(path), true) => {
            let old = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: {e} (nothing to check)", path.display()))?;
            if old != generated.rust {
                return Err(format!(
                    "{} is stale: {}\nregenerate it: run the same command without --check",
                    path.display(),
                    diff_summary(&old, &generated.rust)
                ));
            }
            if let Some(json) = &args.json {
                let old = std::fs::read_to_string(json)
                    .map_err(|e| format!("{}: {e} (nothing to check)", json.display()))?;
                if old != generated.json() {
                    return Err(format!(
                        "{} is stale: {}\nregenerate it: run the same command without --check",
                        json.display(),
                        diff_summary(&old, &generated.json())
                    ));
                }
            }
            if !args.quiet {
                note(format_args!("{} is up to date\n", path.display()));
            }
        }
        (Some(path), false) => patchjit_build::write_if_changed(path, generated.rust.as_bytes())
            .map_err(|e| e.to_string())?,
        (None, _) => output::print(&generated.rust)?,
    }
    if let (Some(json), false) = (&args.json, args.check) {
        patchjit_build::write_if_changed(json, generated.json().as_bytes())
            .map_err(|e| e.to_string())?;
    }
    if !args.quiet {
        let r = &generated.report;
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

/// Where two texts first differ, and how many lines differ in between common prefix and suffix.
fn diff_summary(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let removed = old.len() - prefix - suffix;
    let added = new.len() - prefix - suffix;
    // The group whose entry holds the first difference (groups are written in order).
    let stencil = new[..new.len().min(prefix + 1)]
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("name: \"")?.strip_suffix("\","));
    let mut summary = format!(
        "from line {}: {removed} committed line(s) replaced by {added} regenerated line(s)",
        prefix + 1
    );
    if let (Some(was), Some(now)) = (old.get(prefix), new.get(prefix)) {
        summary.push_str(&format!(
            "\n  committed:   {}\n  regenerated: {}",
            was.trim(),
            now.trim()
        ));
    }
    if let Some(stencil) = stencil {
        summary.push_str(&format!("\n  first difference in stencil {stencil}"));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::diff_summary;

    #[test]
    fn summary_names_line_and_stencil() {
        let old = "// header\n        ::patchjit::StencilGroup {\n            name: \"add\",\n                    0x48, 0xb8,\n";
        let new = "// header\n        ::patchjit::StencilGroup {\n            name: \"add\",\n                    0x48, 0xb9,\n";
        let summary = diff_summary(old, new);
        assert!(
            summary
                .starts_with("from line 4: 1 committed line(s) replaced by 1 regenerated line(s)"),
            "{summary}"
        );
        assert!(summary.contains("committed:   0x48, 0xb8,"), "{summary}");
        assert!(summary.contains("regenerated: 0x48, 0xb9,"), "{summary}");
        assert!(
            summary.ends_with("first difference in stencil add"),
            "{summary}"
        );
    }

    #[test]
    fn summary_of_added_lines() {
        let summary = diff_summary("a\nb\n", "a\nx\ny\nb\n");
        assert!(
            summary
                .starts_with("from line 2: 0 committed line(s) replaced by 2 regenerated line(s)"),
            "{summary}"
        );
    }
}
