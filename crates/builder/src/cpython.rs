//! CPython 3.14 output: a drop-in replacement for CPython's `Tools/jit/build.py` that writes the
//! `jit_stencils-<triple>.h` headers (and the umbrella `jit_stencils.h`) CPython's JIT compiles
//! against, from the same tree, with the same clang flags and the same layout.

mod cases;
mod digest;
mod header;
mod job;
mod listing;
mod llvm;
mod pytext;
mod template;

pub use cases::{find_micro_ops, MicroOp};
pub use digest::{digest, DigestInputs};
pub use header::{patch_call, render_umbrella, HeaderError, PatchDialect, TargetHeader};
pub use job::{run, source_root_of_build_dir, CodeComments, Job, JobError};
pub use listing::{code_comments, hole_marks};
pub use llvm::{objdump_comments, LLVM_VERSION};
pub use pytext::{bytes_repr, shell_join};
pub use template::{split_template, SplitTemplate};
