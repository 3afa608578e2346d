//! Holes: the places in a stencil that get patched at run time, and with what.

use std::fmt;

/// The base of a patch: which run-time quantity a hole holds before `symbol` and `addend` are
/// added. A template names one through the symbol `_JIT_<NAME>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoleValue {
    /// Start of this stencil's code.
    Code,
    /// Start of the next stencil's code (the continuation).
    Continue,
    /// Start of this stencil's data.
    Data,
    Executor,
    /// A GOT-relative reference; only exists during extraction and becomes `Data` + slot offset.
    Got,
    Oparg,
    Operand0,
    Operand0Hi,
    Operand0Lo,
    Operand1,
    Operand1Hi,
    Operand1Lo,
    Target,
    JumpTarget,
    ErrorTarget,
    /// No base: the hole's value is the address of its symbol plus the addend.
    Zero,
    /// A value a client defined (`_JIT_<NAME>` with `NAME` declared by the client), upper case.
    Custom(String),
}

impl HoleValue {
    /// The values CPython defines, in its declaration order.
    pub const BUILTIN: [HoleValue; 16] = [
        HoleValue::Code,
        HoleValue::Continue,
        HoleValue::Data,
        HoleValue::Executor,
        HoleValue::Got,
        HoleValue::Oparg,
        HoleValue::Operand0,
        HoleValue::Operand0Hi,
        HoleValue::Operand0Lo,
        HoleValue::Operand1,
        HoleValue::Operand1Hi,
        HoleValue::Operand1Lo,
        HoleValue::Target,
        HoleValue::JumpTarget,
        HoleValue::ErrorTarget,
        HoleValue::Zero,
    ];

    /// The upper-case name used in `_JIT_<NAME>` symbols, JSON and CPython's comments.
    pub fn name(&self) -> &str {
        match self {
            HoleValue::Code => "CODE",
            HoleValue::Continue => "CONTINUE",
            HoleValue::Data => "DATA",
            HoleValue::Executor => "EXECUTOR",
            HoleValue::Got => "GOT",
            HoleValue::Oparg => "OPARG",
            HoleValue::Operand0 => "OPERAND0",
            HoleValue::Operand0Hi => "OPERAND0_HI",
            HoleValue::Operand0Lo => "OPERAND0_LO",
            HoleValue::Operand1 => "OPERAND1",
            HoleValue::Operand1Hi => "OPERAND1_HI",
            HoleValue::Operand1Lo => "OPERAND1_LO",
            HoleValue::Target => "TARGET",
            HoleValue::JumpTarget => "JUMP_TARGET",
            HoleValue::ErrorTarget => "ERROR_TARGET",
            HoleValue::Zero => "ZERO",
            HoleValue::Custom(name) => name,
        }
    }

    /// Parses a built-in name (`"OPARG"`); client-defined names are resolved by the caller.
    pub fn from_builtin_name(name: &str) -> Option<HoleValue> {
        HoleValue::BUILTIN.into_iter().find(|v| v.name() == name)
    }
}

impl fmt::Display for HoleValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a hole is written: one patch function per instruction or data encoding.
/// "r" = PC-relative, "x" = may relax a GOT load into a direct form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatchKind {
    Abs32,
    Abs64,
    Rel32,
    X86_64Rel32x,
    Aarch64Lo12,
    Aarch64Lo12x,
    Aarch64Mov16a,
    Aarch64Mov16b,
    Aarch64Mov16c,
    Aarch64Mov16d,
    Aarch64Page21r,
    Aarch64Page21rx,
    Aarch64Branch26r,
    /// A folded ADRP + LDR pair (8 bytes) loading a GOT slot.
    Aarch64Pair33rx,
    /// A branch to an external symbol that may need a trampoline; the addend is its ordinal.
    Aarch64Trampoline,
}

impl PatchKind {
    /// CPython's name for the patch function (`patch_x86_64_32rx`).
    pub fn func_name(self) -> &'static str {
        match self {
            PatchKind::Abs32 => "patch_32",
            PatchKind::Abs64 => "patch_64",
            PatchKind::Rel32 => "patch_32r",
            PatchKind::X86_64Rel32x => "patch_x86_64_32rx",
            PatchKind::Aarch64Lo12 => "patch_aarch64_12",
            PatchKind::Aarch64Lo12x => "patch_aarch64_12x",
            PatchKind::Aarch64Mov16a => "patch_aarch64_16a",
            PatchKind::Aarch64Mov16b => "patch_aarch64_16b",
            PatchKind::Aarch64Mov16c => "patch_aarch64_16c",
            PatchKind::Aarch64Mov16d => "patch_aarch64_16d",
            PatchKind::Aarch64Page21r => "patch_aarch64_21r",
            PatchKind::Aarch64Page21rx => "patch_aarch64_21rx",
            PatchKind::Aarch64Branch26r => "patch_aarch64_26r",
            PatchKind::Aarch64Pair33rx => "patch_aarch64_33rx",
            PatchKind::Aarch64Trampoline => "patch_aarch64_trampoline",
        }
    }

    /// Inverse of [`PatchKind::func_name`], for readers of JSON.
    pub fn from_func_name(name: &str) -> Option<PatchKind> {
        PatchKind::ALL.into_iter().find(|k| k.func_name() == name)
    }

    pub const ALL: [PatchKind; 15] = [
        PatchKind::Abs32,
        PatchKind::Abs64,
        PatchKind::Rel32,
        PatchKind::X86_64Rel32x,
        PatchKind::Aarch64Lo12,
        PatchKind::Aarch64Lo12x,
        PatchKind::Aarch64Mov16a,
        PatchKind::Aarch64Mov16b,
        PatchKind::Aarch64Mov16c,
        PatchKind::Aarch64Mov16d,
        PatchKind::Aarch64Page21r,
        PatchKind::Aarch64Page21rx,
        PatchKind::Aarch64Branch26r,
        PatchKind::Aarch64Pair33rx,
        PatchKind::Aarch64Trampoline,
    ];
}

/// A relocation type patchjit understands, named as the object format names it. Anything else is
/// an extraction error, which is how unsupported relocations are reported.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelocKind {
    // ELF x86-64
    R_X86_64_64,
    R_X86_64_PC32,
    R_X86_64_PLT32,
    R_X86_64_GOTPCREL,
    R_X86_64_GOTPCRELX,
    R_X86_64_REX_GOTPCRELX,
    // ELF AArch64
    R_AARCH64_ABS64,
    R_AARCH64_ADD_ABS_LO12_NC,
    R_AARCH64_ADR_GOT_PAGE,
    R_AARCH64_ADR_PREL_PG_HI21,
    R_AARCH64_CALL26,
    R_AARCH64_JUMP26,
    R_AARCH64_LD64_GOT_LO12_NC,
    R_AARCH64_LDST8_ABS_LO12_NC,
    R_AARCH64_LDST16_ABS_LO12_NC,
    R_AARCH64_LDST32_ABS_LO12_NC,
    R_AARCH64_LDST64_ABS_LO12_NC,
    R_AARCH64_LDST128_ABS_LO12_NC,
    R_AARCH64_MOVW_UABS_G0_NC,
    R_AARCH64_MOVW_UABS_G1_NC,
    R_AARCH64_MOVW_UABS_G2_NC,
    R_AARCH64_MOVW_UABS_G3,
    // Mach-O x86-64
    X86_64_RELOC_BRANCH,
    X86_64_RELOC_GOT,
    X86_64_RELOC_GOT_LOAD,
    X86_64_RELOC_SIGNED,
    X86_64_RELOC_UNSIGNED,
    // Mach-O AArch64
    ARM64_RELOC_BRANCH26,
    ARM64_RELOC_GOT_LOAD_PAGE21,
    ARM64_RELOC_GOT_LOAD_PAGEOFF12,
    ARM64_RELOC_PAGE21,
    ARM64_RELOC_PAGEOFF12,
    ARM64_RELOC_UNSIGNED,
    // COFF
    IMAGE_REL_AMD64_ADDR64,
    IMAGE_REL_AMD64_REL32,
    IMAGE_REL_ARM64_ADDR64,
    IMAGE_REL_ARM64_BRANCH26,
    IMAGE_REL_ARM64_PAGEBASE_REL21,
    IMAGE_REL_ARM64_PAGEOFFSET_12A,
    IMAGE_REL_ARM64_PAGEOFFSET_12L,
    IMAGE_REL_I386_DIR32,
    IMAGE_REL_I386_REL32,
}

impl RelocKind {
    /// The name as the format's documentation (and `llvm-readobj`) spells it.
    pub fn name(self) -> &'static str {
        macro_rules! names {
            ($($k:ident),* $(,)?) => {
                match self { $(RelocKind::$k => stringify!($k),)* }
            };
        }
        names!(
            R_X86_64_64,
            R_X86_64_PC32,
            R_X86_64_PLT32,
            R_X86_64_GOTPCREL,
            R_X86_64_GOTPCRELX,
            R_X86_64_REX_GOTPCRELX,
            R_AARCH64_ABS64,
            R_AARCH64_ADD_ABS_LO12_NC,
            R_AARCH64_ADR_GOT_PAGE,
            R_AARCH64_ADR_PREL_PG_HI21,
            R_AARCH64_CALL26,
            R_AARCH64_JUMP26,
            R_AARCH64_LD64_GOT_LO12_NC,
            R_AARCH64_LDST8_ABS_LO12_NC,
            R_AARCH64_LDST16_ABS_LO12_NC,
            R_AARCH64_LDST32_ABS_LO12_NC,
            R_AARCH64_LDST64_ABS_LO12_NC,
            R_AARCH64_LDST128_ABS_LO12_NC,
            R_AARCH64_MOVW_UABS_G0_NC,
            R_AARCH64_MOVW_UABS_G1_NC,
            R_AARCH64_MOVW_UABS_G2_NC,
            R_AARCH64_MOVW_UABS_G3,
            X86_64_RELOC_BRANCH,
            X86_64_RELOC_GOT,
            X86_64_RELOC_GOT_LOAD,
            X86_64_RELOC_SIGNED,
            X86_64_RELOC_UNSIGNED,
            ARM64_RELOC_BRANCH26,
            ARM64_RELOC_GOT_LOAD_PAGE21,
            ARM64_RELOC_GOT_LOAD_PAGEOFF12,
            ARM64_RELOC_PAGE21,
            ARM64_RELOC_PAGEOFF12,
            ARM64_RELOC_UNSIGNED,
            IMAGE_REL_AMD64_ADDR64,
            IMAGE_REL_AMD64_REL32,
            IMAGE_REL_ARM64_ADDR64,
            IMAGE_REL_ARM64_BRANCH26,
            IMAGE_REL_ARM64_PAGEBASE_REL21,
            IMAGE_REL_ARM64_PAGEOFFSET_12A,
            IMAGE_REL_ARM64_PAGEOFFSET_12L,
            IMAGE_REL_I386_DIR32,
            IMAGE_REL_I386_REL32,
        )
    }

    /// Parses a relocation name as `llvm-readobj` prints it.
    pub fn from_name(name: &str) -> Option<RelocKind> {
        RelocKind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub const ALL: [RelocKind; 42] = [
        RelocKind::R_X86_64_64,
        RelocKind::R_X86_64_PC32,
        RelocKind::R_X86_64_PLT32,
        RelocKind::R_X86_64_GOTPCREL,
        RelocKind::R_X86_64_GOTPCRELX,
        RelocKind::R_X86_64_REX_GOTPCRELX,
        RelocKind::R_AARCH64_ABS64,
        RelocKind::R_AARCH64_ADD_ABS_LO12_NC,
        RelocKind::R_AARCH64_ADR_GOT_PAGE,
        RelocKind::R_AARCH64_ADR_PREL_PG_HI21,
        RelocKind::R_AARCH64_CALL26,
        RelocKind::R_AARCH64_JUMP26,
        RelocKind::R_AARCH64_LD64_GOT_LO12_NC,
        RelocKind::R_AARCH64_LDST8_ABS_LO12_NC,
        RelocKind::R_AARCH64_LDST16_ABS_LO12_NC,
        RelocKind::R_AARCH64_LDST32_ABS_LO12_NC,
        RelocKind::R_AARCH64_LDST64_ABS_LO12_NC,
        RelocKind::R_AARCH64_LDST128_ABS_LO12_NC,
        RelocKind::R_AARCH64_MOVW_UABS_G0_NC,
        RelocKind::R_AARCH64_MOVW_UABS_G1_NC,
        RelocKind::R_AARCH64_MOVW_UABS_G2_NC,
        RelocKind::R_AARCH64_MOVW_UABS_G3,
        RelocKind::X86_64_RELOC_BRANCH,
        RelocKind::X86_64_RELOC_GOT,
        RelocKind::X86_64_RELOC_GOT_LOAD,
        RelocKind::X86_64_RELOC_SIGNED,
        RelocKind::X86_64_RELOC_UNSIGNED,
        RelocKind::ARM64_RELOC_BRANCH26,
        RelocKind::ARM64_RELOC_GOT_LOAD_PAGE21,
        RelocKind::ARM64_RELOC_GOT_LOAD_PAGEOFF12,
        RelocKind::ARM64_RELOC_PAGE21,
        RelocKind::ARM64_RELOC_PAGEOFF12,
        RelocKind::ARM64_RELOC_UNSIGNED,
        RelocKind::IMAGE_REL_AMD64_ADDR64,
        RelocKind::IMAGE_REL_AMD64_REL32,
        RelocKind::IMAGE_REL_ARM64_ADDR64,
        RelocKind::IMAGE_REL_ARM64_BRANCH26,
        RelocKind::IMAGE_REL_ARM64_PAGEBASE_REL21,
        RelocKind::IMAGE_REL_ARM64_PAGEOFFSET_12A,
        RelocKind::IMAGE_REL_ARM64_PAGEOFFSET_12L,
        RelocKind::IMAGE_REL_I386_DIR32,
        RelocKind::IMAGE_REL_I386_REL32,
    ];

    /// The patch function that writes this relocation (CPython 3.14's table, extended with the
    /// kinds patchjit additionally supports).
    pub fn patch_kind(self) -> PatchKind {
        use RelocKind::*;
        match self {
            R_X86_64_64
            | X86_64_RELOC_UNSIGNED
            | R_AARCH64_ABS64
            | ARM64_RELOC_UNSIGNED
            | IMAGE_REL_AMD64_ADDR64
            | IMAGE_REL_ARM64_ADDR64 => PatchKind::Abs64,
            IMAGE_REL_I386_DIR32 => PatchKind::Abs32,
            R_X86_64_PC32 | R_X86_64_PLT32 | R_X86_64_GOTPCREL | X86_64_RELOC_BRANCH
            | X86_64_RELOC_SIGNED => PatchKind::Rel32,
            R_X86_64_GOTPCRELX
            | R_X86_64_REX_GOTPCRELX
            | X86_64_RELOC_GOT
            | X86_64_RELOC_GOT_LOAD
            | IMAGE_REL_AMD64_REL32
            | IMAGE_REL_I386_REL32 => PatchKind::X86_64Rel32x,
            R_AARCH64_ADD_ABS_LO12_NC
            | R_AARCH64_LDST8_ABS_LO12_NC
            | R_AARCH64_LDST16_ABS_LO12_NC
            | R_AARCH64_LDST32_ABS_LO12_NC
            | R_AARCH64_LDST64_ABS_LO12_NC
            | R_AARCH64_LDST128_ABS_LO12_NC
            | ARM64_RELOC_PAGEOFF12
            | IMAGE_REL_ARM64_PAGEOFFSET_12A => PatchKind::Aarch64Lo12,
            R_AARCH64_LD64_GOT_LO12_NC
            | ARM64_RELOC_GOT_LOAD_PAGEOFF12
            | IMAGE_REL_ARM64_PAGEOFFSET_12L => PatchKind::Aarch64Lo12x,
            R_AARCH64_ADR_PREL_PG_HI21 | ARM64_RELOC_PAGE21 => PatchKind::Aarch64Page21r,
            R_AARCH64_ADR_GOT_PAGE
            | ARM64_RELOC_GOT_LOAD_PAGE21
            | IMAGE_REL_ARM64_PAGEBASE_REL21 => PatchKind::Aarch64Page21rx,
            R_AARCH64_CALL26
            | R_AARCH64_JUMP26
            | ARM64_RELOC_BRANCH26
            | IMAGE_REL_ARM64_BRANCH26 => PatchKind::Aarch64Branch26r,
            R_AARCH64_MOVW_UABS_G0_NC => PatchKind::Aarch64Mov16a,
            R_AARCH64_MOVW_UABS_G1_NC => PatchKind::Aarch64Mov16b,
            R_AARCH64_MOVW_UABS_G2_NC => PatchKind::Aarch64Mov16c,
            R_AARCH64_MOVW_UABS_G3 => PatchKind::Aarch64Mov16d,
        }
    }

    /// True for relocations that refer to a GOT slot rather than to the symbol itself.
    pub fn is_got(self) -> bool {
        use RelocKind::*;
        matches!(
            self,
            R_X86_64_GOTPCREL
                | R_X86_64_GOTPCRELX
                | R_X86_64_REX_GOTPCRELX
                | R_AARCH64_ADR_GOT_PAGE
                | R_AARCH64_LD64_GOT_LO12_NC
                | X86_64_RELOC_GOT
                | X86_64_RELOC_GOT_LOAD
                | ARM64_RELOC_GOT_LOAD_PAGE21
                | ARM64_RELOC_GOT_LOAD_PAGEOFF12
        )
    }
}

impl fmt::Display for RelocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Patch `patch` at `offset` with `value + &symbol + addend`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hole {
    /// Byte offset within its stencil.
    pub offset: u64,
    /// The relocation the hole came from (GOT slots use `R_X86_64_64`, as CPython does).
    pub kind: RelocKind,
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
/// alignment, data zero-padded to 8 and followed by one 8-byte GOT slot per GOT symbol (each
/// with its own `R_X86_64_64`/[`PatchKind::Abs64`] hole), and ADRP + LDR pairs folded (see
/// [`Stencil::holes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StencilGroup {
    /// The template function's name (prefix stripped), or the object's stem for one-function
    /// objects (CPython's way: the micro-op name).
    pub name: String,
    pub code: Stencil,
    pub data: Stencil,
    /// Length of the data copied from the object's sections, before padding and GOT slots;
    /// CPython's data comments are derived from it.
    pub data_section_len: usize,
    /// Offset of the first GOT slot in `data.body` (equal to its length when there are none).
    pub got_offset: usize,
    /// Ordinals (into [`Extraction::trampoline_symbols`]) of the trampolines this group may need.
    pub trampolines: Vec<u32>,
}

/// Everything extracted from one build: groups in order, and the symbols trampolines refer to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extraction {
    pub groups: Vec<StencilGroup>,
    /// Symbol of trampoline ordinal `i` at index `i`, shared by all groups of the build.
    pub trampoline_symbols: Vec<String>,
}
