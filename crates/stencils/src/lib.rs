//! Reads compiled template object files (ELF, Mach-O, COFF; x86-64, AArch64, i686) into
//! copy-and-patch stencil groups: code and data bytes plus the holes to patch at run time.

mod error;
mod group;
mod hole;
mod object_file;
mod sections;
mod target;

pub use error::Error;
pub use group::{extract, extract_files, extract_objects, Options};
pub use hole::{Extraction, Hole, HoleValue, PatchKind, RelocKind, Stencil, StencilGroup};
pub use object_file::read_object;
pub use sections::{ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol};
pub use target::{Arch, Format, Target};
