//! Reads compiled template object files (ELF, Mach-O, COFF; x86-64, AArch64, i686) into
//! copy-and-patch stencil groups: code and data bytes plus the holes to patch at run time.
//!
//! Two steps, each usable alone: [`read_object`] parses an object file into the format-neutral
//! [`ObjectSections`] ([`read_readobj_json`] reads `llvm-readobj`'s JSON into the same model), and
//! [`extract`]/[`extract_files`] turn parsed objects into [`StencilGroup`]s exactly as CPython
//! 3.14's `Tools/jit` does. [`extract_objects`] does both for a list of `(file name, bytes)`:
//!
//! ```no_run
//! # fn main() -> Result<(), patchjit_stencils::Error> {
//! use patchjit_stencils::{extract_objects, Options, Target};
//! let bytes = std::fs::read("add.o").unwrap();
//! let extraction = extract_objects(&[("add.o", &bytes)], Some(Target::X86_64UnknownLinuxGnu), &Options::default())?;
//! assert_eq!(extraction.groups[0].name, "add");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod clang;
mod error;
mod fallthrough;
mod group;
mod hole;
mod json;
mod limits;
mod object_file;
mod readobj;
mod sections;
mod site;

pub use clang::ClangArgs;
pub use error::Error;
pub use fallthrough::fall_through;
pub use group::{extract, extract_files, extract_objects, DataLayout, Options};
pub use hole::{Extraction, Hole, HoleValue, Stencil, StencilGroup};
pub use json::{from_json, to_json};
pub use object_file::read_object;
pub use patchjit_vocab::{Addend, Arch, Format, NarrowType, PatchKind, RelocKind, Target};
pub use readobj::{read_readobj_json, readobj_json_target};
pub use sections::{ObjectSections, RelocTarget, Relocation, Section, SectionKind, Symbol};

/// The README's example, compiled as a doctest so the published front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
