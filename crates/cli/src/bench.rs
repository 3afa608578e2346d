//! `patchjit bench`.

/// Not implemented yet.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), String> {
    Err("`patchjit bench` is not implemented yet".to_string())
}
