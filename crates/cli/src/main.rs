//! The `patchjit` command line.

fn main() {
    eprintln!("patchjit: no subcommands yet");
    std::process::exit(2);
}
