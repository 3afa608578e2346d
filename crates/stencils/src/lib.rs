//! Reads compiled template object files (ELF, Mach-O, COFF; x86-64, AArch64, i686) into
//! copy-and-patch stencil groups: code and data bytes plus the holes to patch at run time.

mod error;
mod hole;
mod sections;
mod target;

pub use error::Error;
pub use hole::{Extraction, Hole, HoleValue, PatchKind, RelocKind, Stencil, StencilGroup};
pub use sections::{ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol};
pub use target::{Arch, Format, Target};
