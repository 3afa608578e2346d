//! Compiles C templates with clang and writes stencil tables.
//!
//! In a `build.rs`:
//!
//! ```no_run
//! let report = patchjit_build::Builder::new()
//!     .templates(["templates/add.c", "templates/ret.c"])
//!     .custom_values(["SCALE"])
//!     .allow_symbols(["my_helper"])
//!     .committed_tables("stencils") // used when clang 19+ is missing
//!     .build()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//!
//! and in the crate: `mod stencils { include!(concat!(env!("OUT_DIR"), "/stencils.rs")); }`,
//! which defines `STENCILS: patchjit::StencilTable` and one `u16` index constant per template.

#![warn(missing_docs)]

pub mod cpython;

mod check;
mod compile;
mod driver;
mod private_dir;
mod rust;
mod stale;
mod stamp;
mod tools;
mod variants;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use patchjit_stencils::ClangArgs;

pub use check::{Rule, Violation};
pub use driver::Event;
pub use patchjit_stencils::{Extraction, PatchKind, Target};
pub use private_dir::{private_temp_dir, DirProblem};
pub use stale::{freshness, Freshness};
pub use tools::{find_tool, Tool, ToolKind, ToolProblem, Versions, MIN_MAJOR};
pub use variants::{Axis, Variants, MAX_VARIANTS};
pub use write::write_if_changed;

/// The template header (`patchjit.h`), embedded so downstream crates need no source tree.
pub const HEADER: &str = include_str!("../include/patchjit.h");

/// The flags every template is compiled with, besides the target's and the include paths.
pub const COMMON_FLAGS: [&str; 11] = [
    "-O3",
    "-c",
    "-ffreestanding",
    "-ffunction-sections",
    "-fdata-sections",
    "-fno-jump-tables",
    "-fno-asynchronous-unwind-tables",
    "-fno-builtin",
    "-fno-plt",
    "-fno-stack-protector",
    "-std=c11",
];

/// Default [`Builder::max_code_size`]: far above any sensible single operation.
pub const DEFAULT_MAX_CODE_SIZE: usize = 16 * 1024;

/// A directory holding `patchjit.h` (under `$OUT_DIR` in a build script, else the user's
/// [`private_temp_dir`]); pass it as `-I`. The file is rewritten only when its contents differ.
pub fn include_dir() -> Result<PathBuf, Error> {
    let base = match std::env::var_os("OUT_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => private_temp_dir()?,
    };
    let dir = base.join(format!("patchjit-include-{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    write_if_changed(&dir.join("patchjit.h"), HEADER.as_bytes())?;
    Ok(dir)
}

/// Why a build failed.
#[derive(Debug)]
pub enum Error {
    /// No usable clang, and no committed table to fall back on.
    Clang(ToolProblem),
    /// No usable clang, and the committed table for the target is missing.
    NoCommittedTable {
        /// Why no clang could be used.
        problem: ToolProblem,
        /// Where the committed table was looked for.
        path: PathBuf,
    },
    /// Reading or writing a file (template, cache entry, output) failed.
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// clang rejected a template.
    Compile {
        /// The template clang was given.
        template: PathBuf,
        /// clang's diagnostics, as printed.
        stderr: String,
    },
    /// The object of a template could not become stencils (the error also names the file,
    /// section, offset and relocation type where it has them).
    Extraction {
        /// The stencil (template stem) whose object failed.
        stencil: String,
        /// What extraction found wrong.
        error: patchjit_stencils::Error,
    },
    /// Templates broke hygiene rules.
    Hygiene(Vec<Violation>),
    /// The builder's configuration or the templates' names are unusable.
    Invalid(String),
    /// A directory under the shared temporary directory is not safely the user's own.
    UnsafeDir {
        /// The directory refused.
        path: PathBuf,
        /// What makes it unsafe.
        problem: DirProblem,
    },
}

impl Error {
    fn io(path: &Path, error: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Clang(problem) => write!(f, "{problem}"),
            Error::NoCommittedTable { problem, path } => write!(
                f,
                "{problem}; and there is no committed table to fall back on ({} is missing: \
                 generate it with `patchjit build` where clang is available)",
                path.display()
            ),
            Error::Io { path, error } => write!(f, "{}: {error}", path.display()),
            Error::Compile { template, stderr } => {
                write!(f, "clang failed on {}:\n{stderr}", template.display())
            }
            Error::Extraction { stencil, error } => {
                write!(f, "stencil {stencil}: {error}")?;
                if let patchjit_stencils::Error::UnsupportedRelocation { .. } = error {
                    write!(
                        f,
                        "; the template uses an addressing form stencils cannot patch: keep the \
                         target's default code-model flags, and reach data through the \
                         parameters, a hole value or a runtime helper"
                    )?;
                }
                Ok(())
            }
            Error::Hygiene(violations) => {
                for (i, v) in violations.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
            Error::Invalid(message) => write!(f, "{message}"),
            Error::UnsafeDir { path, problem } => write!(
                f,
                "{}: refusing to use it: {problem} (another user may have planted it; remove it, \
                 or give a directory of your own)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Where the written table came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableSource {
    /// Compiled and extracted now.
    Generated,
    /// Copied from the committed tables because clang is unavailable.
    Committed,
}

/// What a build did. For a [`TableSource::Committed`] table nothing was compiled or
/// extracted, so every count is zero.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target the table is for.
    pub target: Target,
    /// Whether the table was generated now or copied from the committed tables.
    pub source: TableSource,
    /// Where the Rust table was written.
    pub output: PathBuf,
    /// Templates clang compiled in this build.
    pub compiled: usize,
    /// Templates whose object was taken from the cache instead.
    pub cached: usize,
    /// Stencil groups in the table.
    pub stencils: usize,
    /// Code bytes over all groups, after padding: what one use of every operation copies.
    pub code_bytes: usize,
    /// Data bytes over all groups, GOT slots included.
    pub data_bytes: usize,
    /// Number of holes of each patch kind, in kind order (kinds with none left out).
    pub holes: Vec<(PatchKind, usize)>,
    /// Wall time the build took (for progress lines and the CLI's summary).
    pub elapsed: Duration,
    /// clang's warnings, per template that had any (a build with warnings is never a no-op,
    /// so they show every time).
    pub warnings: Vec<(PathBuf, String)>,
}

/// The generated outputs, before they are written.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The Rust module body.
    pub rust: String,
    /// The stencil groups the table was written from (for the JSON dump or other writers).
    pub extraction: Extraction,
    /// The counts, as [`Builder::build`] would report them (no output path yet).
    pub report: Report,
    /// Files the outputs depend on (templates and headers), for `rerun-if-changed`.
    pub dependencies: Vec<PathBuf>,
}

impl Generated {
    /// The extraction in patchjit's stable JSON schema (`patchjit_stencils::to_json`).
    pub fn json(&self) -> String {
        patchjit_stencils::to_json(&self.extraction, self.report.target)
    }
}

/// Configures and runs a template build; see the crate docs.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    templates: Vec<PathBuf>,
    target: Option<Target>,
    includes: Vec<PathBuf>,
    defines: Vec<(String, Option<String>)>,
    flags: Vec<String>,
    custom_values: Vec<String>,
    allowed_symbols: Option<Vec<String>>,
    shims: Vec<String>,
    max_code_size: Option<usize>,
    out_path: Option<PathBuf>,
    json_path: Option<PathBuf>,
    committed_tables: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    cargo_metadata: Option<bool>,
}

impl Builder {
    /// A builder with no templates. The target defaults to Cargo's `TARGET`, so outside a build
    /// script call [`Builder::target`].
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds template files (one operation each; the group is named after the file's stem).
    pub fn templates<P: AsRef<Path>>(mut self, templates: impl IntoIterator<Item = P>) -> Self {
        self.templates
            .extend(templates.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// The target to build for; by default Cargo's `TARGET` (the crate's target in a build
    /// script).
    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    /// Adds an include directory (`-I`).
    pub fn include(mut self, dir: impl AsRef<Path>) -> Self {
        self.includes.push(dir.as_ref().to_path_buf());
        self
    }

    /// Defines a preprocessor macro (`-Dkey=value`).
    pub fn define(mut self, key: &str, value: Option<&str>) -> Self {
        self.defines
            .push((key.to_string(), value.map(str::to_string)));
        self
    }

    /// Adds a raw clang flag (after the defaults, so it can override them).
    pub fn flag(mut self, flag: &str) -> Self {
        self.flags.push(flag.to_string());
        self
    }

    /// Declares client-defined hole values: `PATCHJIT_VALUE(NAME)` in a template becomes
    /// `HoleValue::Custom(i)`, `i` being NAME's position in this list.
    pub fn custom_values<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.custom_values
            .extend(names.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Restricts the external symbols templates may reference (runtime helpers) to these.
    /// Without a call, any symbol is allowed.
    pub fn allow_symbols<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.allowed_symbols
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Names templates (by stem) that enter the JIT code with a real call to `_JIT_CONTINUE`.
    pub fn shims<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.shims
            .extend(names.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    /// Largest code size of one stencil (default [`DEFAULT_MAX_CODE_SIZE`]).
    pub fn max_code_size(mut self, bytes: usize) -> Self {
        self.max_code_size = Some(bytes);
        self
    }

    /// Where to write the Rust table; default `$OUT_DIR/stencils.rs`.
    pub fn out_path(mut self, path: impl AsRef<Path>) -> Self {
        self.out_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Also write the extraction as JSON (the stable schema of `patchjit dump --format json`)
    /// here, for other tools. Not written when the committed tables are used.
    pub fn json_path(mut self, path: impl AsRef<Path>) -> Self {
        self.json_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// A directory of pre-generated tables (`<triple>.rs`) used when clang is unavailable.
    pub fn committed_tables(mut self, dir: impl AsRef<Path>) -> Self {
        self.committed_tables = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Where compiled objects are cached; default `$OUT_DIR/patchjit-cache`, or `cache` in the
    /// user's [`private_temp_dir`] outside a build script.
    pub fn cache_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cache_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to print `cargo:` lines; default: when running as a build script (`OUT_DIR` set).
    pub fn cargo_metadata(mut self, on: bool) -> Self {
        self.cargo_metadata = Some(on);
        self
    }

    fn resolved_target(&self) -> Result<Target, Error> {
        if let Some(target) = self.target {
            return Ok(target);
        }
        let triple = std::env::var("TARGET").map_err(|_| {
            Error::Invalid("no target: call Builder::target (TARGET is not set)".to_string())
        })?;
        Target::from_triple(&triple)
            .ok_or_else(|| Error::Invalid(format!("patchjit does not support target {triple}")))
    }

    fn committed_table(&self, target: Target) -> Option<PathBuf> {
        let dir = self.committed_tables.as_ref()?;
        Some(dir.join(format!("{}.rs", target.triple())))
    }

    fn out_dir() -> Option<PathBuf> {
        std::env::var_os("OUT_DIR").map(PathBuf::from)
    }

    fn resolved_cache_dir(&self) -> Result<PathBuf, Error> {
        match (&self.cache_dir, Self::out_dir()) {
            (Some(dir), _) => Ok(dir.clone()),
            (None, Some(out)) => Ok(out.join("patchjit-cache")),
            (None, None) => Ok(private_temp_dir()?.join("cache")),
        }
    }

    fn cargo(&self) -> bool {
        self.cargo_metadata
            .unwrap_or_else(|| Self::out_dir().is_some())
    }

    /// The full clang command line (without output and source) for `target`.
    fn flags(&self, target: Target) -> Result<Vec<String>, Error> {
        let mut flags = vec![format!("--target={}", target.triple())];
        flags.extend(target.clang_args().iter().map(|s| s.to_string()));
        flags.extend(COMMON_FLAGS.iter().map(|s| s.to_string()));
        flags.push(format!("-I{}", include_dir()?.display()));
        for dir in &self.includes {
            flags.push(format!("-I{}", dir.display()));
        }
        for (key, value) in &self.defines {
            flags.push(match value {
                Some(value) => format!("-D{key}={value}"),
                None => format!("-D{key}"),
            });
        }
        flags.extend(self.flags.iter().cloned());
        Ok(flags)
    }

    /// Compiles, extracts and checks the templates with `clang`, returning the outputs unwritten.
    pub fn generate_with(
        &self,
        clang: &Tool,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<Generated, Error> {
        let start = Instant::now();
        let target = self.resolved_target()?;
        if self.templates.is_empty() {
            return Err(Error::Invalid("no templates given".to_string()));
        }
        let mut templates = self.templates.clone();
        templates.sort_by(|a, b| a.file_name().cmp(&b.file_name()).then(a.cmp(b)));
        let flags = self.flags(target)?;
        let cache_dir = self.resolved_cache_dir()?;
        // What clang compiles per template: the template itself, or a generated source holding
        // all its variants.
        let mut variants: Vec<Option<Variants>> = Vec::with_capacity(templates.len());
        let mut sources: Vec<(PathBuf, String)> = Vec::with_capacity(templates.len());
        for template in &templates {
            let text = std::fs::read_to_string(template).map_err(|e| Error::io(template, e))?;
            let declared = Variants::declared(template, &text)?;
            let source = match &declared {
                None => template.clone(),
                Some(declared) => variant_source(template, declared, &cache_dir)?,
            };
            sources.push((source, template.display().to_string()));
            variants.push(declared);
        }
        progress(Event::Compiling {
            target: target.triple(),
            total: templates.len(),
            clang: &clang.version,
        });
        let compiled = compile::compile_all(clang, &flags, &sources, &cache_dir, progress)?;
        let names: Vec<String> = templates.iter().map(|t| t.display().to_string()).collect();
        let objects: Vec<(&str, &[u8])> = names
            .iter()
            .zip(&compiled)
            .map(|(n, c)| (n.as_str(), c.object.as_slice()))
            .collect();
        let scanned: Vec<Violation> = templates
            .iter()
            .zip(&compiled)
            .flat_map(|(template, c)| check::scan_object(&stem(template), &c.object))
            .collect();
        if !scanned.is_empty() {
            return Err(Error::Hygiene(scanned));
        }
        let options = patchjit_stencils::Options {
            custom_values: self.custom_values.clone(),
            data_layout: patchjit_stencils::DataLayout::Aligned,
        };
        let mut extraction = patchjit_stencils::extract_objects(&objects, Some(target), &options)
            .map_err(|error| Error::Extraction {
            stencil: stencil_of_error(&error, &templates),
            error,
        })?;
        let policy = check::Policy {
            allowed_symbols: self.allowed_symbols.clone(),
            shims: self.shims.clone(),
            max_code_size: self.max_code_size.unwrap_or(DEFAULT_MAX_CODE_SIZE),
        };
        let violations = check::check(&extraction, target, &policy);
        if !violations.is_empty() {
            return Err(Error::Hygiene(violations));
        }
        // Branch stencils fall through to the next instruction when their condition fails.
        patchjit_stencils::fall_through(&mut extraction, target);
        let file_names: Vec<String> = templates
            .iter()
            .map(|t| {
                t.file_name().map_or_else(
                    || t.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let position: HashMap<&str, usize> = extraction
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.name.as_str(), i))
            .collect();
        let indices = templates
            .iter()
            .zip(&variants)
            .filter_map(|(template, declared)| Some((template, declared.as_ref()?)))
            .map(|(template, declared)| {
                rust::VariantIndex::new(&stem(template), declared, &position)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rust = rust::render(
            &extraction,
            target,
            &self.custom_values,
            &rust::Provenance {
                templates: &file_names,
            },
            &indices,
        )?;
        let cached = compiled.iter().filter(|c| c.cached).count();
        let mut dependencies: Vec<PathBuf> = compiled
            .iter()
            .flat_map(|c| c.dependencies.iter().cloned())
            .chain(templates.iter().cloned())
            .collect();
        dependencies.sort();
        dependencies.dedup();
        let warnings = templates
            .iter()
            .zip(&compiled)
            .filter(|(_, c)| !c.warnings.is_empty())
            .map(|(t, c)| (t.clone(), c.warnings.clone()))
            .collect();
        let report = Report {
            warnings,
            ..summarize(&extraction, target, compiled.len() - cached, cached, start)
        };
        Ok(Generated {
            rust,
            extraction,
            report,
            dependencies,
        })
    }

    /// Regenerates the committed table of each of `targets` with `clang` and returns the paths
    /// of those that differ from it (or are missing): the freshness check a crate with committed
    /// tables runs in its tests (`patchjit build --check` is the command-line form).
    pub fn stale_committed_tables(
        &self,
        clang: &Tool,
        targets: &[Target],
    ) -> Result<Vec<PathBuf>, Error> {
        let mut stale = Vec::new();
        for &target in targets {
            let path = self.committed_table(target).ok_or_else(|| {
                Error::Invalid("no committed tables: call Builder::committed_tables".to_string())
            })?;
            let generated = self
                .clone()
                .target(target)
                .cargo_metadata(false)
                .generate_with(clang, &|_| {})?;
            if !matches!(freshness(&path, &generated.rust), Freshness::UpToDate) {
                stale.push(path);
            }
        }
        Ok(stale)
    }

    /// Builds and writes the table: generated with clang if one is usable, else copied from
    /// the committed tables (with a `cargo:warning`).
    pub fn build(&self) -> Result<Report, Error> {
        self.build_with_progress(&|_| {})
    }

    /// [`Builder::build`], reporting each compiled template.
    pub fn build_with_progress(
        &self,
        progress: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<Report, Error> {
        let start = Instant::now();
        let target = self.resolved_target()?;
        let output = match (&self.out_path, Self::out_dir()) {
            (Some(path), _) => path.clone(),
            (None, Some(dir)) => dir.join("stencils.rs"),
            (None, None) => {
                return Err(Error::Invalid(
                    "no output: call Builder::out_path (OUT_DIR is not set)".to_string(),
                ))
            }
        };
        let cargo = self.cargo();
        if cargo {
            println!("cargo:rerun-if-env-changed=PATCHJIT_CLANG");
            println!("cargo:rerun-if-env-changed=PATH");
        }
        let cache_dir = self.resolved_cache_dir()?;
        std::fs::create_dir_all(&cache_dir).map_err(|e| Error::io(&cache_dir, e))?;
        match find_clang(Some(&cache_dir)) {
            Ok(clang) => {
                // Everything the outputs depend on besides file contents, the code that
                // extracts and writes them included.
                let key = format!(
                    "{self:?}\n{}\n{}\n{}\n{}\n{}",
                    target.triple(),
                    clang.path.display(),
                    clang.version,
                    env!("CARGO_PKG_VERSION"),
                    generator_identity()
                );
                let stamp = stamp::path(&cache_dir, &key);
                let (report, dependencies, rust) =
                    match stamp::fresh(&stamp, target, &output, start) {
                        Some((report, dependencies)) => (report, dependencies, None),
                        None => {
                            let generated = self.generate_with(&clang, progress)?;
                            write_if_changed(&output, generated.rust.as_bytes())?;
                            if let Some(json) = &self.json_path {
                                write_if_changed(json, generated.json().as_bytes())?;
                            }
                            if cargo {
                                for (_, text) in &generated.report.warnings {
                                    for line in text.lines() {
                                        println!("cargo:warning={line}");
                                    }
                                }
                            }
                            // Warnings must show on every build: no stamp then.
                            if generated.report.warnings.is_empty() {
                                let outputs: Vec<&Path> =
                                    [Some(output.as_path()), self.json_path.as_deref()]
                                        .into_iter()
                                        .flatten()
                                        .collect();
                                stamp::record(
                                    &stamp,
                                    &generated.report,
                                    &generated.dependencies,
                                    &outputs,
                                )?;
                            }
                            (
                                generated.report,
                                generated.dependencies,
                                Some(generated.rust),
                            )
                        }
                    };
                if cargo {
                    for dep in &dependencies {
                        println!("cargo:rerun-if-changed={}", dep.display());
                    }
                    if let Some(committed) = self.committed_table(target) {
                        println!("cargo:rerun-if-changed={}", committed.display());
                        let rust = match rust {
                            Some(rust) => rust,
                            None => std::fs::read_to_string(&output)
                                .map_err(|e| Error::io(&output, e))?,
                        };
                        if let Freshness::Stale { summary } = freshness(&committed, &rust) {
                            println!(
                                "cargo:warning=patchjit: the committed table {} is stale (builds \
                                 without clang would use it); regenerate it with `patchjit build`",
                                committed.display()
                            );
                            for line in summary.lines() {
                                println!("cargo:warning={line}");
                            }
                        }
                    }
                }
                Ok(Report { output, ..report })
            }
            Err(problem) => {
                let Some(committed) = self.committed_table(target) else {
                    return Err(Error::Clang(problem));
                };
                let Ok(text) = std::fs::read(&committed) else {
                    return Err(Error::NoCommittedTable {
                        problem,
                        path: committed,
                    });
                };
                write_if_changed(&output, &text)?;
                if cargo {
                    println!(
                        "cargo:warning=patchjit: {problem}; using the committed stencil table {}",
                        committed.display()
                    );
                    println!("cargo:rerun-if-changed={}", committed.display());
                    for template in &self.templates {
                        println!("cargo:rerun-if-changed={}", template.display());
                    }
                }
                Ok(Report {
                    target,
                    source: TableSource::Committed,
                    output,
                    compiled: 0,
                    cached: 0,
                    stencils: 0,
                    code_bytes: 0,
                    data_bytes: 0,
                    holes: Vec::new(),
                    elapsed: start.elapsed(),
                    warnings: Vec::new(),
                })
            }
        }
    }
}

/// Writes the source that compiles every variant of `template` into one object, under the
/// cache directory at a path fixed by the template's absolute path (so the compile cache
/// finds it again).
fn variant_source(
    template: &Path,
    variants: &Variants,
    cache_dir: &Path,
) -> Result<PathBuf, Error> {
    use sha2::{Digest, Sha256};
    let absolute = std::fs::canonicalize(template).map_err(|e| Error::io(template, e))?;
    let key = hex::encode(&Sha256::digest(absolute.as_os_str().as_encoded_bytes())[..8]);
    let stem = stem(template);
    let dir = cache_dir.join("variants");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let path = dir.join(format!("{stem}-{key}.c"));
    write_if_changed(&path, variants.wrapper_source(&stem, &absolute).as_bytes())?;
    Ok(path)
}

/// The stencil an extraction error is about: its group, else the stem of its file.
fn stencil_of_error(error: &patchjit_stencils::Error, templates: &[PathBuf]) -> String {
    use patchjit_stencils::Error as E;
    let file = match error {
        E::Invalid {
            group: Some(group), ..
        } => return group.clone(),
        E::Malformed { file, .. }
        | E::Unsupported { file, .. }
        | E::UnsupportedRelocation { file, .. }
        | E::Invalid { file, .. } => file,
    };
    templates
        .iter()
        .find(|t| t.display().to_string() == *file)
        .map_or_else(|| file.clone(), |t| stem(t))
}

/// A template's group name: its file stem.
fn stem(template: &Path) -> String {
    template.file_stem().map_or_else(
        || template.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

fn summarize(
    extraction: &Extraction,
    target: Target,
    compiled: usize,
    cached: usize,
    start: Instant,
) -> Report {
    let mut holes: Vec<(PatchKind, usize)> = Vec::new();
    for group in &extraction.groups {
        for hole in group.code.holes.iter().chain(&group.data.holes) {
            match holes.iter_mut().find(|(k, _)| *k == hole.patch) {
                Some((_, n)) => *n += 1,
                None => holes.push((hole.patch, 1)),
            }
        }
    }
    holes.sort();
    Report {
        target,
        source: TableSource::Generated,
        output: PathBuf::new(),
        compiled,
        cached,
        stencils: extraction.groups.len(),
        code_bytes: extraction.groups.iter().map(|g| g.code.body.len()).sum(),
        data_bytes: extraction.groups.iter().map(|g| g.data.body.len()).sum(),
        holes,
        elapsed: start.elapsed(),
        warnings: Vec::new(),
    }
}

/// Finds a clang that can compile templates ([`MIN_MAJOR`] or newer; see [`find_tool`]);
/// `version_cache` avoids re-running `--version`.
pub fn find_clang(version_cache: Option<&Path>) -> Result<Tool, ToolProblem> {
    find_tool(ToolKind::Clang, Versions::AtLeast(MIN_MAJOR), version_cache)
}

/// The README's example, compiled as a doctest so the published front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;

/// The program doing this build (a build script or the CLI, with this crate and the extraction
/// linked in): its path, size and modification time. A stamp sees only the inputs and outputs,
/// so without this a rebuilt builder whose extraction or writer changed would trust the stamp
/// an older one wrote and keep the old output (with the new builder, `--check` calls it stale).
fn generator_identity() -> String {
    let identity = || -> std::io::Result<String> {
        let exe = std::env::current_exe()?;
        let meta = std::fs::metadata(&exe)?;
        Ok(format!(
            "{} {} {:?}",
            exe.display(),
            meta.len(),
            meta.modified()?
        ))
    };
    identity().unwrap_or_default()
}
