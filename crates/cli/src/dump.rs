//! `patchjit dump`.

/// Not implemented yet.
#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> Result<(), String> {
    Err("`patchjit dump` is not implemented yet".to_string())
}
