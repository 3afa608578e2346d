//! Shared by the tests that compare the two tiers.

use patchjit_bpf::vm::ExecError;

/// `result` with out-of-bounds addresses made relative to `base` (the input's address in that
/// run): each run has its own buffers, so host addresses differ while offsets must not.
pub fn relative(result: Result<u64, ExecError>, base: u64) -> Result<u64, ExecError> {
    result.map_err(|e| match e {
        ExecError::OutOfBounds {
            pc,
            addr,
            size,
            write,
        } => ExecError::OutOfBounds {
            pc,
            addr: addr.wrapping_sub(base),
            size,
            write,
        },
        e => e,
    })
}
