//! A format-neutral view of one object file: its sections, the symbols they define, and their
//! relocations. Both readers (the object reader and the `llvm-readobj` JSON reader) produce this,
//! and grouping works only on it, so the two readers cannot disagree downstream of parsing.

use patchjit_vocab::RelocKind;
use patchjit_vocab::Target;

use crate::error::{malformed, Error};

/// What a section contributes to a stencil group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// Executable: goes into the code stencil.
    Code,
    /// Allocated, not executable: goes into the data stencil (BSS as zeros).
    Data,
}

/// A symbol defined in a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Name with the target's symbol prefix already stripped (`_foo` → `foo` on Mach-O and
    /// i686 COFF); ELF section symbols are named after their section (as `llvm-readobj` names
    /// them), so relocations against them resolve by that name.
    pub name: String,
    /// Offset from the start of its section (ELF `st_value`, COFF `Value`); Mach-O: the
    /// symbol's address (`n_value`).
    pub value: u64,
    /// External binding (ELF global/weak, Mach-O `N_EXT`, COFF external/weak external). Global
    /// functions start their own group in multi-function objects.
    pub global: bool,
    /// A code symbol (ELF `STT_FUNC`, COFF function type, Mach-O any symbol in an
    /// instruction section); global ones name groups.
    pub function: bool,
}

/// What a relocation refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelocTarget {
    /// A named symbol (prefix stripped; COFF `__imp_` kept so grouping can unwrap it: i686
    /// `__imp__foo` is given as `__imp_foo`). ELF relocations against section symbols name the
    /// section (`.rodata.str1.1`).
    Symbol(String),
    /// A section of this object, by [`Section::index`]: Mach-O non-extern relocations only.
    Section(usize),
}

/// One relocation, with its addend already made explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relocation {
    /// Offset within the section it applies to.
    pub offset: u64,
    /// The relocation type's row, which fixes the patch function, GOT use and addend rule.
    pub kind: RelocKind,
    /// What the relocated field refers to.
    pub target: RelocTarget,
    /// Explicit (ELF RELA) or read from the instruction bytes by the format's rules.
    pub addend: i64,
}

/// One allocated section of the object, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The format's own section number, so relocations can name sections: ELF section header
    /// index, COFF 1-based section number, Mach-O 1-based section ordinal (`n_sect`, i.e.
    /// `llvm-readobj`'s 0-based `Index` + 1).
    pub index: usize,
    /// As the file spells it (`.text`, `__text`, `.rdata`), for error messages.
    pub name: String,
    /// Whether it goes into the code or the data stencil.
    pub kind: SectionKind,
    /// Mach-O: the section's address in the object's single address space; 0 elsewhere.
    pub address: u64,
    /// Alignment its start needs, in bytes: a power of two (1 where the format says 0). A
    /// data section's is honoured in its group's data (e.g. the 16-byte SSE constants clang
    /// loads with aligned instructions); code sections are laid back to back regardless.
    pub align: u64,
    /// Contents (zeros for BSS).
    pub bytes: Vec<u8>,
    /// In the order the file lists them.
    pub symbols: Vec<Symbol>,
    /// In the order the file lists them (Mach-O: descending address, as in the file).
    pub relocations: Vec<Relocation>,
}

/// A parsed object: everything grouping needs and nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSections {
    /// The target the object was compiled for, from its header (or `llvm-readobj`'s format line).
    pub target: Target,
    /// The allocated sections in file order (debug info and other unloaded sections left out).
    pub sections: Vec<Section>,
}

/// A section's alignment as both readers take it: 0 (no constraint) is 1; anything else must
/// be a power of two.
pub(crate) fn alignment(file: &str, section: &str, raw: u64) -> Result<u64, Error> {
    match raw {
        0 => Ok(1),
        a if a.is_power_of_two() => Ok(a),
        a => Err(malformed(
            file,
            format!("section {section}: alignment {a} is not a power of two"),
        )),
    }
}
