//! The `patchjit cpython` job: CPython 3.14's `Tools/jit/build.py`, in-process and parallel.
//! For each target: digest check, one clang run per micro-op (plus the shim) on all cores,
//! extraction straight from the objects, header written atomically; then the umbrella header.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use patchjit_stencils::{ClangArgs, Extraction, Target};

use super::cases::find_micro_ops;
use super::digest::{digest, DigestInputs};
use super::header::{render_umbrella, HeaderError, PatchDialect, TargetHeader};
use super::listing::code_comments;
use super::llvm;
use super::pytext::shell_join;
use super::template::split_template;
use crate::driver::{parallel_map, Event};
use crate::tools::{find_tool, Tool, ToolKind, ToolProblem, Versions};

/// What to build, as `Tools/jit/build.py`'s command line says it.
#[derive(Clone, Debug)]
pub struct Job {
    /// Target triples, used verbatim for `--target=`, the file name and the digest.
    pub triples: Vec<String>,
    /// Where `jit_stencils-<triple>.h` and the umbrella `jit_stencils.h` are written.
    pub output_dir: PathBuf,
    /// Directory holding the configured `pyconfig.h`.
    pub pyconfig_dir: PathBuf,
    /// The CPython source root; None: the `srcdir` of `<pyconfig_dir>/Makefile`, else the
    /// pyconfig directory itself (an in-tree build).
    pub cpython_root: Option<PathBuf>,
    /// Extra clang flags, split like a POSIX shell and appended last.
    pub cflags: String,
    /// Build for a debug interpreter (`-D_DEBUG`).
    pub debug: bool,
    /// Rebuild even when the digest says nothing changed.
    pub force: bool,
    /// Report every tool command line.
    pub verbose: bool,
    /// The command line recorded in the headers' comment line (without `$ `).
    pub command: String,
    /// Compiles to run at once; 0 means one per available core.
    pub jobs: usize,
    /// Where the tools' `--version` answers are cached (as [`crate::Builder::cache_dir`]
    /// does); None: asked every run.
    pub cache_dir: Option<PathBuf>,
    /// Parse the template's shared prefix once into a clang precompiled header (same objects,
    /// several times faster); false runs exactly CPython's clang command lines.
    pub precompiled_header: bool,
    /// Where the `//` disassembly comments above each `code_body` come from.
    pub code_comments: CodeComments,
}

/// The source of the code comments (they never change the code lines).
#[derive(Clone, Copy, Debug)]
pub enum CodeComments {
    /// `llvm-objdump --disassemble --reloc` of each object, as CPython writes them, when
    /// llvm-objdump is installed; otherwise [`code_comments`]'s listing if `fallback`, else
    /// none (as CPython does).
    Objdump {
        /// Whether to fall back on the built-in listing when llvm-objdump is missing.
        fallback: bool,
    },
    /// Always [`code_comments`]'s listing (no llvm-objdump runs).
    Builtin,
}

/// Why a job failed; each names the file, micro-op or tool involved.
#[derive(Debug)]
pub enum JobError {
    /// Reading the CPython tree or writing a header failed.
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// A triple that matches none of patchjit's targets.
    UnknownTriple(String),
    /// clang (or llvm-objdump, when `PATCHJIT_OBJDUMP` names it) from LLVM 19 is not usable.
    Tool(ToolProblem),
    /// `cflags` cannot be split like a shell would (an unclosed quote, a trailing backslash).
    BadCflags(String),
    /// clang failed on one micro-op's template.
    Compile {
        /// The micro-op.
        stencil: String,
        /// The whole command line, so it can be rerun by hand.
        command: String,
        /// The exit status, or why clang could not start.
        status: String,
        /// clang's diagnostics.
        stderr: String,
    },
    /// llvm-objdump failed on one micro-op's object (code comments only).
    Objdump {
        /// The micro-op.
        stencil: String,
        /// What went wrong.
        message: String,
    },
    /// A target's objects could not become stencils.
    Extract {
        /// The triple as given.
        triple: String,
        /// The extraction error, naming file, section, offset and relocation.
        message: String,
    },
    /// A target's header could not be written from its stencils.
    Header {
        /// The triple as given.
        triple: String,
        /// What the writer refused.
        error: HeaderError,
    },
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            JobError::UnknownTriple(t) => write!(
                f,
                "unsupported target triple {t:?} (expected one of {})",
                Target::ALL.map(|t| t.triple()).join(", ")
            ),
            JobError::Tool(problem) => write!(f, "{problem}"),
            JobError::BadCflags(m) => write!(f, "--cflags: {m}"),
            JobError::Compile {
                stencil,
                command,
                status,
                stderr,
            } => {
                write!(
                    f,
                    "clang failed for micro-op {stencil} ({status})\n$ {command}\n{stderr}"
                )
            }
            JobError::Objdump { stencil, message } => {
                write!(f, "disassembling {stencil}: {message}")
            }
            JobError::Extract { triple, message } => write!(f, "{triple}: {message}"),
            JobError::Header { triple, error } => write!(f, "{triple}: {error}"),
        }
    }
}

impl std::error::Error for JobError {}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> JobError + '_ {
    move |error| JobError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes a header atomically, through a symlink or FIFO rather than over it.
fn write_file(path: &Path, text: &str) -> Result<(), JobError> {
    crate::write::update_file(path, text.as_bytes())
        .map_err(|(path, error)| JobError::Io { path, error })
}

/// Python's text-mode read: UTF-8 with universal newlines.
fn read_text(path: &Path) -> Result<String, JobError> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| io_error(path)(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8")))?;
    Ok(if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text
    })
}

fn canonical(path: &Path) -> Result<PathBuf, JobError> {
    path.canonicalize().map_err(io_error(path))
}

/// The CPython source root for a build directory: its Makefile's `srcdir`, else the directory.
pub fn source_root_of_build_dir(build_dir: &Path) -> Result<PathBuf, JobError> {
    let makefile = build_dir.join("Makefile");
    let srcdir = fs::read_to_string(&makefile).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("srcdir=").map(|v| v.trim().to_string()))
    });
    let root = match srcdir {
        Some(dir) if !dir.is_empty() => build_dir.join(dir),
        _ => build_dir.to_path_buf(),
    };
    canonical(&root)
}

/// A fresh private (mode 0700) temporary directory `<tmp>/tmpXXXXXXXX`, named like Python's
/// `tempfile` names it so the disassembly comments (whose spacing depends on the path length)
/// come out the same; removed when dropped.
fn temp_dir() -> Result<tempfile::TempDir, JobError> {
    tempfile::Builder::new()
        .prefix("tmp")
        .rand_bytes(8)
        .tempdir()
        .map_err(io_error(&std::env::temp_dir()))
}

/// Everything shared by the targets of one job.
struct Context {
    cpython: PathBuf,
    pyconfig_dir: PathBuf,
    output_dir: PathBuf,
    cflags: Vec<String>,
    dialect: PatchDialect,
}

/// The LLVM tools, looked up only once something has to be compiled (an up-to-date check must
/// stay fast).
struct Tools {
    clang: Tool,
    objdump: Option<Tool>,
}

impl Tools {
    /// clang from LLVM 19, and llvm-objdump from it when the comments come from there (missing
    /// or of another version on `PATH`: the fallback writes them; named by `PATCHJIT_OBJDUMP`
    /// but unusable: an error).
    fn find(job: &Job) -> Result<Tools, JobError> {
        let llvm = Versions::Exactly(llvm::LLVM_VERSION);
        let cache = job.cache_dir.as_deref();
        if let Some(dir) = cache {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let clang = find_tool(ToolKind::Clang, llvm, cache).map_err(JobError::Tool)?;
        let objdump = match job.code_comments {
            CodeComments::Objdump { .. } => match find_tool(ToolKind::Objdump, llvm, cache) {
                Ok(objdump) => Some(objdump),
                Err(problem) if problem.from_env() => return Err(JobError::Tool(problem)),
                Err(_) => None,
            },
            CodeComments::Builtin => None,
        };
        Ok(Tools { clang, objdump })
    }
}

/// Runs the job: every target, then the umbrella header. Returns the headers written (targets
/// found up to date are not listed).
pub fn run(job: &Job, report: &(dyn Fn(Event<'_>) + Sync)) -> Result<Vec<PathBuf>, JobError> {
    let targets = job
        .triples
        .iter()
        .map(|t| {
            Target::from_triple(t)
                .map(|target| (t.clone(), target))
                .ok_or_else(|| JobError::UnknownTriple(t.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    fs::create_dir_all(&job.output_dir).map_err(io_error(&job.output_dir))?;
    let pyconfig_dir = canonical(&job.pyconfig_dir)?;
    let cpython = match &job.cpython_root {
        Some(root) => canonical(root)?,
        None => source_root_of_build_dir(&pyconfig_dir)?,
    };
    let context = Context {
        dialect: PatchDialect::of_jit_c(&read_text(&cpython.join("Python/jit.c"))?),
        cflags: shlex::split(&job.cflags).ok_or_else(|| {
            JobError::BadCflags("no closing quotation, or a backslash at the end".to_string())
        })?,
        output_dir: canonical(&job.output_dir)?,
        cpython,
        pyconfig_dir,
    };
    let mut tools: Option<Tools> = None;
    let mut written = Vec::new();
    for (triple, target) in &targets {
        let path = context.output_dir.join(format!("jit_stencils-{triple}.h"));
        let digest = digest(&DigestInputs {
            triple,
            debug: job.debug,
            cflags: &job.cflags,
            cpython: &context.cpython,
            pyconfig_dir: &context.pyconfig_dir,
        })
        .map_err(|error| JobError::Io {
            path: context.cpython.clone(),
            error,
        })?;
        if !job.force
            && fs::read(&path).is_ok_and(|old| old.starts_with(format!("// {digest}\n").as_bytes()))
        {
            report(Event::UpToDate { path: &path });
            continue;
        }
        let tools = match &mut tools {
            Some(tools) => tools,
            None => tools.insert(Tools::find(job)?),
        };
        let build = TargetBuild {
            job,
            cx: &context,
            tools,
            triple,
            target: *target,
            report,
        };
        build.run(&digest, &path)?;
        written.push(path);
    }
    let umbrella = context.output_dir.join("jit_stencils.h");
    let text = render_umbrella(&job.command, &targets);
    if fs::read_to_string(&umbrella).ok().as_deref() != Some(text.as_str()) {
        write_file(&umbrella, &text)?;
        report(Event::Wrote { path: &umbrella });
    }
    Ok(written)
}

/// One target's build: compile every stencil, extract, write the header.
struct TargetBuild<'a> {
    job: &'a Job,
    cx: &'a Context,
    tools: &'a Tools,
    triple: &'a str,
    target: Target,
    report: &'a (dyn Fn(Event<'_>) + Sync),
}

/// One C file to compile into one stencil group.
struct Unit {
    name: String,
    /// The C file compiled: the shim, or `<tmp>/<name>.c` (the name matters: it is in the
    /// object and, through `__FILE__`, possibly in its data).
    source: PathBuf,
    /// When `source` holds only the template's rest (for the precompiled header): the full
    /// instantiated template, written over it if the fast compile fails.
    full_text: Option<String>,
}

struct Compiled {
    object: Vec<u8>,
    comments: Vec<String>,
}

impl TargetBuild<'_> {
    fn run(&self, digest: &str, path: &Path) -> Result<(), JobError> {
        let cx = self.cx;
        let ops = find_micro_ops(&read_text(&cx.cpython.join("Python/executor_cases.c.h"))?);
        let template = read_text(&cx.cpython.join("Tools/jit/template.c"))?;
        let tmp_dir = temp_dir()?;
        let tmp = canonical(tmp_dir.path())?;
        let split = if self.job.precompiled_header {
            split_template(&template)
        } else {
            None
        };
        let pch = match &split {
            Some(split) => self.precompile(&tmp, split.prefix)?,
            None => None,
        };
        let mut units = vec![Unit {
            name: "shim".to_string(),
            source: cx.cpython.join("Tools/jit/shim.c"),
            full_text: None,
        }];
        for op in &ops {
            let source = tmp.join(format!("{}.c", op.name));
            let full = op.instantiate(&template);
            let (text, full_text) = match (&split, &pch) {
                (Some(split), Some(_)) => (split.instantiate_rest(&op.case_text), Some(full)),
                _ => (full, None),
            };
            fs::write(&source, text).map_err(io_error(&source))?;
            units.push(Unit {
                name: op.name.clone(),
                source,
                full_text,
            });
        }
        (self.report)(Event::Compiling {
            target: self.triple,
            total: units.len(),
            clang: &self.tools.clang.version,
        });
        let compiled = self.compile_all(&tmp, pch.as_deref(), &units)?;

        let objects: Vec<(String, &[u8])> = units
            .iter()
            .zip(&compiled)
            .map(|(u, c)| (format!("{}.o", u.name), c.object.as_slice()))
            .collect();
        let extraction = extract(&objects, self.target).map_err(|message| JobError::Extract {
            triple: self.triple.to_string(),
            message,
        })?;
        let builtin = match (self.job.code_comments, &self.tools.objdump) {
            (CodeComments::Builtin, _) => true,
            (CodeComments::Objdump { fallback }, None) => fallback,
            (CodeComments::Objdump { .. }, Some(_)) => false,
        };
        let comments: Vec<Vec<String>> = if builtin {
            extraction
                .groups
                .iter()
                .map(|g| code_comments(self.target, g))
                .collect()
        } else {
            compiled.into_iter().map(|c| c.comments).collect()
        };
        let text = TargetHeader {
            digest,
            command: &self.job.command,
            extraction: &extraction,
            code_comments: &comments,
            dialect: cx.dialect,
        }
        .render()
        .map_err(|error| JobError::Header {
            triple: self.triple.to_string(),
            error,
        })?;
        write_file(path, &text)?;
        (self.report)(Event::Wrote { path });
        Ok(())
    }

    /// clang's arguments for one stencil: exactly CPython 3.14's list and order, with
    /// `-include-pch` when compiling the template's rest against the precompiled prefix.
    fn clang_args(
        &self,
        tmp: &Path,
        name: Option<&str>,
        output: &Path,
        source: &Path,
        pch: Option<&Path>,
    ) -> Vec<String> {
        let cx = self.cx;
        let include = |sub: &str| format!("-I{}", cx.cpython.join(sub).display());
        let mut args = vec![
            format!("--target={}", self.triple),
            "-DPy_BUILD_CORE_MODULE".to_string(),
            if self.job.debug {
                "-D_DEBUG"
            } else {
                "-DNDEBUG"
            }
            .to_string(),
        ];
        // The precompiled prefix must not depend on the micro-op.
        if let Some(name) = name {
            args.push(format!("-D_JIT_OPCODE={name}"));
        }
        args.extend([
            "-D_PyJIT_ACTIVE".to_string(),
            "-D_Py_JIT".to_string(),
            format!("-I{}", cx.pyconfig_dir.display()),
            include("Include"),
            include("Include/internal"),
            include("Include/internal/mimalloc"),
            include("Python"),
            include("Tools/jit"),
            "-O3".to_string(),
        ]);
        args.push(if name.is_some() { "-c" } else { "-xc-header" }.to_string());
        args.extend([
            format!("-ffile-prefix-map={}=.", cx.cpython.display()),
            format!("-ffile-prefix-map={}=.", tmp.display()),
            "-fno-asynchronous-unwind-tables".to_string(),
            "-fno-builtin".to_string(),
            "-fno-plt".to_string(),
            "-fno-stack-protector".to_string(),
            "-std=c11".to_string(),
        ]);
        if let Some(pch) = pch {
            args.push("-include-pch".to_string());
            args.push(pch.display().to_string());
        }
        args.extend([
            "-o".to_string(),
            output.display().to_string(),
            source.display().to_string(),
        ]);
        args.extend(self.target.clang_args().iter().map(|a| a.to_string()));
        args.extend(cx.cflags.iter().cloned());
        args
    }

    /// Runs clang; a failure is reported with the stencil's name and clang's own message.
    fn clang(&self, stencil: &str, args: &[String]) -> Result<(), JobError> {
        let command_line = || {
            let mut all = vec![self.tools.clang.path.display().to_string()];
            all.extend(args.iter().cloned());
            shell_join(&all)
        };
        if self.job.verbose {
            (self.report)(Event::Command(&command_line()));
        }
        let output = Command::new(&self.tools.clang.path)
            .args(args)
            .output()
            .map_err(|e| JobError::Compile {
                stencil: stencil.to_string(),
                command: command_line(),
                status: "could not start".to_string(),
                stderr: e.to_string(),
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(JobError::Compile {
                stencil: stencil.to_string(),
                command: command_line(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            })
        }
    }

    /// Parses the template's shared prefix once. None (plain compiles) if clang cannot, e.g.
    /// because of unusual `--cflags`.
    fn precompile(&self, tmp: &Path, prefix: &str) -> Result<Option<PathBuf>, JobError> {
        let header = tmp.join("template-prefix.h");
        fs::write(&header, prefix).map_err(io_error(&header))?;
        let pch = tmp.join("template-prefix.pch");
        let args = self.clang_args(tmp, None, &pch, &header, None);
        Ok(self.clang("template prefix", &args).ok().map(|()| pch))
    }

    /// Compiles (and disassembles) every unit on `job.jobs` threads; results in unit order. The
    /// first failure stops the others from starting new work and is returned.
    fn compile_all(
        &self,
        tmp: &Path,
        pch: Option<&Path>,
        units: &[Unit],
    ) -> Result<Vec<Compiled>, JobError> {
        parallel_map(
            units,
            self.job.jobs,
            |unit| self.compile_one(tmp, pch, unit),
            |unit, _, done| {
                (self.report)(Event::Compiled {
                    name: &unit.name,
                    cached: false,
                    done,
                    total: units.len(),
                })
            },
        )
    }

    fn compile_one(
        &self,
        tmp: &Path,
        pch: Option<&Path>,
        unit: &Unit,
    ) -> Result<Compiled, JobError> {
        let object = tmp.join(format!("{}.o", unit.name));
        match (pch, &unit.full_text) {
            // On failure, compile the full source: CPython's exact command decides, and its
            // diagnostics point at the real file.
            (Some(pch), Some(full_text)) => {
                let fast = self.clang_args(tmp, Some(&unit.name), &object, &unit.source, Some(pch));
                if self.clang(&unit.name, &fast).is_err() {
                    fs::write(&unit.source, full_text).map_err(io_error(&unit.source))?;
                    self.clang(
                        &unit.name,
                        &self.clang_args(tmp, Some(&unit.name), &object, &unit.source, None),
                    )?;
                }
            }
            _ => self.clang(
                &unit.name,
                &self.clang_args(tmp, Some(&unit.name), &object, &unit.source, None),
            )?,
        }
        let comments = match &self.tools.objdump {
            Some(objdump) => {
                if self.job.verbose {
                    (self.report)(Event::Command(&shell_join(&[
                        objdump.path.display().to_string(),
                        "--disassemble".to_string(),
                        "--reloc".to_string(),
                        object.display().to_string(),
                    ])));
                }
                llvm::objdump_comments(&objdump.path, &object).map_err(|message| {
                    JobError::Objdump {
                        stencil: unit.name.clone(),
                        message,
                    }
                })?
            }
            None => Vec::new(),
        };
        let bytes = fs::read(&object).map_err(io_error(&object))?;
        Ok(Compiled {
            object: bytes,
            comments,
        })
    }
}

/// Extracts the groups, one per object in order, as CPython's 3.14 rules say (its data
/// layout too, for a header byte-identical to `Tools/jit`'s).
fn extract(objects: &[(String, &[u8])], target: Target) -> Result<Extraction, String> {
    let objects: Vec<(&str, &[u8])> = objects.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    patchjit_stencils::extract_objects(
        &objects,
        Some(target),
        &patchjit_stencils::Options {
            data_layout: patchjit_stencils::DataLayout::Cpython,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())
}
