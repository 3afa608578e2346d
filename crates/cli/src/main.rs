//! The `patchjit` command line: one module per subcommand.

use clap::{Parser, Subcommand};

mod bench;
mod build;
mod cpython;
mod dump;
mod emit_workload;
mod output;

/// patchjit: a copy-and-patch JIT toolkit.
///
/// Turns C templates compiled by clang into stencils (code and data bytes with holes), writes
/// them as Rust tables, JSON or CPython 3.14's jit_stencils.h, and measures the runtime.
#[derive(Parser)]
#[command(name = "patchjit", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Dump(dump::Args),
    Build(build::Args),
    Cpython(cpython::Args),
    Bench(bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dump(args) => dump::run(args),
        Command::Build(args) => build::run(args),
        Command::Cpython(args) => cpython::run(args),
        Command::Bench(args) => bench::run(args),
    };
    if let Err(message) = result {
        output::note(format_args!("patchjit: error: {message}\n"));
        std::process::exit(1);
    }
}
