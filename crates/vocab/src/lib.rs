//! The vocabulary every patchjit crate shares, defined once: how a hole is written
//! ([`PatchKind`]), what it starts from ([`HoleValue`]), which targets exist ([`Target`],
//! [`Arch`], [`Format`]) and which relocation types become which holes ([`RelocKind`], one row
//! per type). It has no dependencies and needs no allocator, so the run-time crate `patchjit`
//! can use it without paying for any build-time crate.

#![no_std]
#![warn(missing_docs)]

mod hole;
mod reloc;
mod target;

pub use hole::{HoleValue, NarrowType, PatchKind};
pub use reloc::{Addend, RelocKind};
pub use target::{Arch, Format, Target};

/// The README's example, run as a doctest so the published front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
