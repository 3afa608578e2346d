//! The static stencil tables the emitter copies from. `patchjit-build` generates them as Rust
//! source (`static` items), so they live in read-only memory and cost nothing to load.

pub use patchjit_vocab::{NarrowType, PatchKind};

/// The run-time quantity a hole starts from; `Custom(i)` is the client's `i`-th declared value
/// (an index into [`StencilTable::custom_values`]).
pub type HoleValue = patchjit_vocab::HoleValue<u16>;

/// Patch `patch` at `offset` with `value + address(symbol) + addend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hole {
    /// Byte offset in its stencil; the patch rewrites `patch.width()` bytes from here.
    pub offset: u32,
    /// The patch function that writes it.
    pub patch: PatchKind,
    /// The run-time quantity it starts from (an instruction's operand, a branch destination,
    /// the code or data address, ...).
    pub value: HoleValue,
    /// Index into [`StencilTable::symbols`]; for trampolines, the symbol branched to (a table
    /// generator maps the extraction's trampoline ordinal to this index and writes `addend: 0`).
    pub symbol: Option<u16>,
    /// Added last, wrapping (two's complement), as relocations add it.
    pub addend: i64,
}

/// Bytes to copy and the holes in them. Trailing zero bytes may be omitted from `body`:
/// `len` is the full size (fresh pages are zero).
#[derive(Clone, Copy, Debug)]
pub struct Stencil {
    /// The full size in bytes, trailing zeros included.
    pub len: u32,
    /// The bytes to copy, at most `len`; the holes still hold what the object file had there.
    pub body: &'static [u8],
    /// Where to patch; generated tables list them by offset.
    pub holes: &'static [Hole],
}

/// One operation's code and data.
#[derive(Clone, Copy, Debug)]
pub struct StencilGroup {
    /// The template's name, for errors, perf maps and GDB symbols.
    pub name: &'static str,
    /// Copied once per instruction into the code pages.
    pub code: Stencil,
    /// Copied once per instruction into the data pages (constants, GOT slots).
    pub data: Stencil,
    /// What the data copy's address must be a multiple of: a power of two, at most 4096 (the
    /// extraction records the largest alignment of the group's data sections, at least 8), so
    /// that constants the code loads with aligned instructions (SSE masks) are aligned.
    pub data_align: u32,
}

/// A complete generated table for one target.
#[derive(Clone, Copy, Debug)]
pub struct StencilTable {
    /// The target triple the table was built for; the emitter refuses a foreign table.
    pub target: &'static str,
    /// One per operation; [`crate::Instruction::group`] indexes this.
    pub groups: &'static [StencilGroup],
    /// External symbols named by holes, resolved to addresses when an emitter is created.
    pub symbols: &'static [&'static str],
    /// Names of the client-defined hole values, in `HoleValue::Custom` index order.
    pub custom_values: &'static [&'static str],
}
