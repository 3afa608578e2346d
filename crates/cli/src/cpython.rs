//! `patchjit cpython`: writes CPython 3.14's `jit_stencils-<triple>.h` and `jit_stencils.h`, as
//! a drop-in replacement for `python3 Tools/jit/build.py` (same arguments, same output).

use std::path::PathBuf;

use patchjit_build::cpython::{self, CodeComments, Job};

use crate::output::Progress;

/// Build the stencils of CPython 3.14's JIT (replaces Tools/jit/build.py).
///
/// Compiles Tools/jit/shim.c and Tools/jit/template.c once per micro-op of
/// Python/executor_cases.c.h with clang 19, and writes <output-dir>/jit_stencils-<triple>.h for
/// each triple plus the umbrella <output-dir>/jit_stencils.h. Nothing is rebuilt when the first
/// line's digest (over the same inputs CPython hashes) still matches.
#[derive(clap::Args)]
pub struct Args {
    /// Target triples, exactly as CPython's configure passes them (e.g. x86_64-pc-linux-gnu).
    #[arg(required = true)]
    triples: Vec<String>,
    /// Where to write the headers.
    #[arg(short = 'o', long)]
    output_dir: PathBuf,
    /// Directory holding the configured pyconfig.h (the CPython build directory).
    #[arg(short = 'p', long)]
    pyconfig_dir: PathBuf,
    /// The CPython source tree [default: srcdir of <pyconfig-dir>/Makefile, else pyconfig-dir].
    #[arg(long)]
    cpython_root: Option<PathBuf>,
    /// Extra compiler flags, split like a POSIX shell and passed last.
    #[arg(long, default_value = "", allow_hyphen_values = true)]
    cflags: String,
    /// Compile for a debug build of Python (-D_DEBUG).
    #[arg(short = 'd', long)]
    debug: bool,
    /// Rebuild even if the headers are up to date.
    #[arg(short = 'f', long)]
    force: bool,
    /// Echo every tool command line.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Compiles to run at once [default: one per core].
    #[arg(short = 'j', long, default_value_t = 0, hide_default_value = true)]
    jobs: usize,
    /// Run exactly CPython's clang command lines (no precompiled template prefix; slower, same
    /// output).
    #[arg(long)]
    exact_commands: bool,
    /// Write the `//` disassembly comments with patchjit's own disassembler (the copied code,
    /// holes marked) instead of llvm-objdump's. Without it, llvm-objdump's are written as
    /// CPython writes them when llvm-objdump is installed, patchjit's otherwise.
    #[arg(long)]
    builtin_disassembler: bool,
}

pub fn run(args: Args) -> Result<(), String> {
    let argv: Vec<String> = std::env::args().collect();
    let program = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map_or("patchjit".to_string(), |n| n.to_string_lossy().into_owned());
    let mut recorded = vec![program];
    recorded.extend(argv.iter().skip(1).cloned());
    let job = Job {
        triples: args.triples,
        output_dir: args.output_dir,
        pyconfig_dir: args.pyconfig_dir,
        cpython_root: args.cpython_root,
        cflags: args.cflags,
        debug: args.debug,
        force: args.force,
        verbose: args.verbose,
        command: cpython::shell_join(&recorded),
        jobs: args.jobs,
        cache_dir: Some(crate::build::default_cache_dir()?),
        precompiled_header: !args.exact_commands,
        code_comments: if args.builtin_disassembler {
            CodeComments::Builtin
        } else {
            CodeComments::Objdump { fallback: true }
        },
    };
    let progress = Progress::new(false);
    let result = cpython::run(&job, &|event| progress.show(event));
    progress.clear();
    result.map(|_| ()).map_err(|e| e.to_string())
}
