//! The `patchjit` command line: one module per subcommand.

use std::io::IsTerminal;

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
    let result = match parse().command {
        Command::Dump(args) => dump::run(args),
        Command::Build(args) => build::run(args),
        Command::Cpython(args) => cpython::run(args),
        Command::Bench(args) => bench::run(args),
    };
    if let Err(message) = result {
        fail(&message);
    }
}

/// The command line; `--help` and `--version` are printed through [`output::print`], so they
/// too fail cleanly on a full disk (clap itself would drop the error and exit 0).
fn parse() -> Cli {
    Cli::try_parse().unwrap_or_else(|error| {
        if error.use_stderr() {
            // A usage error: clap's message on stderr, exit status 2.
            error.exit()
        }
        let rendered = error.render();
        let text = if std::io::stdout().is_terminal() {
            rendered.ansi().to_string()
        } else {
            rendered.to_string()
        };
        match output::print(&text) {
            Ok(()) => std::process::exit(0),
            Err(message) => fail(&message),
        }
    })
}

/// Reports an error as one line on stderr and exits with status 1.
fn fail(message: &str) -> ! {
    output::note(format_args!("patchjit: error: {message}\n"));
    std::process::exit(1)
}
