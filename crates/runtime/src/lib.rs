//! Copy-and-patch JIT runtime: the static stencil tables, patch functions, W^X executable
//! memory, and the emitter that lays out, copies and patches a whole program.

pub mod emitter;
pub mod memory;
pub mod patch;
mod stencil;
pub mod visibility;

pub use emitter::{
    BranchKind, Destination, EmitError, Emitter, ExecutableCode, Instruction, Label, Layout,
    Options, Section, Site,
};
pub use memory::{Arena, DataProtection, ExecutableMemory, Placement, WritableMemory};
pub use patch::{PatchError, PatchProblem, PatchTarget};
pub use stencil::{Hole, HoleValue, PatchKind, Stencil, StencilGroup, StencilTable};
