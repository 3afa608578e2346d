//! Copy-and-patch JIT runtime: the static stencil tables, patch functions, W^X executable
//! memory, and the emitter that lays out, copies and patches a whole program.

mod stencil;

pub use stencil::{Hole, HoleValue, PatchKind, Stencil, StencilGroup, StencilTable};
