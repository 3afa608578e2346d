//! Holes: the places in a stencil that get patched at run time, and with what.

use patchjit_vocab::{PatchKind, RelocKind};

/// A hole's base at build time: client-defined values carry their names (the runtime's tables
/// carry indices instead; see [`patchjit_vocab::HoleValue`]).
pub type HoleValue = patchjit_vocab::HoleValue<String>;

/// Patch `patch` at `offset` with `value + &symbol + addend`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hole {
    /// Byte offset within its stencil.
    pub offset: u64,
    /// The relocation the hole came from (GOT slots use `R_X86_64_64`, as CPython does).
    pub kind: RelocKind,
    /// The base the patch starts from (`_JIT_<NAME>` in the template, or `DATA` for a GOT slot).
    pub value: HoleValue,
    /// An external symbol whose address is added, if any.
    pub symbol: Option<String>,
    /// Signed, two's-complement wrapping; for trampolines, the trampoline ordinal.
    pub addend: i64,
    /// How the hole is written; usually `kind.patch_kind()`, but folding and trampolines change it.
    pub patch: PatchKind,
}

/// A contiguous run of bytes to copy, and the holes in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stencil {
    /// The bytes to copy, holes still holding what the object file had there.
    pub body: Vec<u8>,
    /// Sorted by offset (stable: equal offsets keep relocation order). An AArch64 ADRP + LDR
    /// pair loading one GOT slot (a `Page21rx` hole followed 4 bytes later by a `Lo12x` hole
    /// with the same value, symbol and addend, and matching registers) is ONE hole with patch
    /// [`PatchKind::Aarch64Pair33rx`] at the ADRP's offset; the LDR's hole is dropped because
    /// the pair patch rewrites both instructions (CPython folds the same pair when it writes).
    pub holes: Vec<Hole>,
}

/// The code and data stencils of one operation (one template function), after CPython 3.14's
/// post-processing: trailing jump to the continuation removed, code NOP-padded to the target's
/// alignment, data sections at their alignment ([`crate::DataLayout`]), data zero-padded to 8
/// and followed by one 8-byte GOT slot per GOT symbol (each
/// with its own `R_X86_64_64`/[`PatchKind::Abs64`] hole), and ADRP + LDR pairs folded (see
/// [`Stencil::holes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StencilGroup {
    /// The template function's name (prefix stripped), or the object's stem for one-function
    /// objects (CPython's way: the micro-op name).
    pub name: String,
    /// Copied into executable memory, one after another in program order.
    pub code: Stencil,
    /// Its constants, variables and GOT slots, copied beside the code and patched the same way.
    pub data: Stencil,
    /// Length of the data copied from the object's sections, before padding and GOT slots;
    /// CPython's data comments are derived from it.
    pub data_section_len: usize,
    /// Offset of the first GOT slot in `data.body` (equal to its length when there are none).
    pub got_offset: usize,
    /// What the data's start must be aligned to: a power of two from 8 (the GOT slots) to
    /// 4096 (a page); see [`crate::DataLayout`].
    pub data_align: u64,
    /// Ordinals (into [`Extraction::trampoline_symbols`]) of the trampolines this group may need.
    pub trampolines: Vec<u32>,
}

/// Everything extracted from one build: groups in order, and the symbols trampolines refer to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extraction {
    /// One per template function, in the order of the objects they came from.
    pub groups: Vec<StencilGroup>,
    /// Symbol of trampoline ordinal `i` at index `i`, shared by all groups of the build.
    pub trampoline_symbols: Vec<String>,
}
