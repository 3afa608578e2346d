//! The relocation table: every relocation type patchjit understands, one row each, with
//! everything both object readers and both writers need to know about it.

use crate::hole::PatchKind;
use crate::target::{Arch, Format};

/// Where a relocation's addend comes from, by format and type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addend {
    /// The relocation entry carries it (ELF RELA).
    Explicit,
    /// A preceding `ARM64_RELOC_ADDEND` entry carries it, else 0 (Mach-O AArch64).
    Paired,
    /// 0 whatever the bytes hold: CPython ignores Mach-O `UNSIGNED`'s stored value, and COFF
    /// AArch64 instruction fixups store none.
    Zero,
    /// The stored little-endian signed 32 bits minus 4: x86 PC-relative fields are relative to
    /// their own end.
    StoredRel32,
    /// The stored little-endian unsigned 32 bits (COFF i386 `DIR32`).
    StoredU32,
    /// The stored little-endian 64 bits (COFF `ADDR64`).
    Stored64,
}

impl Addend {
    /// How many bytes at the relocation's offset hold the addend (0: not read from the bytes).
    pub const fn stored_width(self) -> usize {
        match self {
            Addend::Explicit | Addend::Paired | Addend::Zero => 0,
            Addend::StoredRel32 | Addend::StoredU32 => 4,
            Addend::Stored64 => 8,
        }
    }

    /// The addend by this rule. `given` is what the relocation entries supply (the RELA addend,
    /// the `ARM64_RELOC_ADDEND` pair's, or 0); `field` is the section's bytes from the
    /// relocation's offset on. `None` if `field` is shorter than [`Addend::stored_width`].
    pub fn decode(self, field: &[u8], given: i64) -> Option<i64> {
        let stored = field.get(..self.stored_width())?;
        let word = |b: &[u8]| [b[0], b[1], b[2], b[3]];
        Some(match self {
            Addend::Explicit | Addend::Paired => given,
            Addend::Zero => 0,
            Addend::StoredRel32 => i64::from(i32::from_le_bytes(word(stored))) - 4,
            Addend::StoredU32 => i64::from(u32::from_le_bytes(word(stored))),
            Addend::Stored64 => i64::from_le_bytes(stored.try_into().ok()?),
        })
    }
}

/// Defines [`RelocKind`] from the table: one row per relocation type.
macro_rules! relocations {
    ($($kind:ident => $format:ident, $arch:ident, $number:literal, $patch:ident, $got:literal,
       $addend:ident;)*) => {
        /// A relocation type patchjit understands, named as the object format names it. Anything
        /// else is an extraction error, which is how unsupported relocations are reported.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RelocKind {
            $(
                #[doc = concat!(
                    "`", stringify!($kind), "`: ", stringify!($format), " ", stringify!($arch),
                    " relocation type ", stringify!($number), "."
                )]
                $kind,
            )*
        }

        impl RelocKind {
            /// Every row of the table, in table order.
            pub const ALL: [RelocKind; [$(stringify!($kind)),*].len()] = [$(RelocKind::$kind),*];

            /// The name as the format's documentation (and `llvm-readobj`) spells it.
            pub const fn name(self) -> &'static str {
                match self {
                    $(RelocKind::$kind => stringify!($kind),)*
                }
            }

            /// The object format the type belongs to.
            pub const fn format(self) -> Format {
                match self {
                    $(RelocKind::$kind => Format::$format,)*
                }
            }

            /// The architecture the type belongs to.
            pub const fn arch(self) -> Arch {
                match self {
                    $(RelocKind::$kind => Arch::$arch,)*
                }
            }

            /// The type's number in the object file (`r_type`, Mach-O `r_type`, COFF `Type`).
            pub const fn number(self) -> u32 {
                match self {
                    $(RelocKind::$kind => $number,)*
                }
            }

            /// The patch function that writes this relocation (CPython 3.14's table, extended
            /// with the kinds patchjit additionally supports).
            pub const fn patch_kind(self) -> PatchKind {
                match self {
                    $(RelocKind::$kind => PatchKind::$patch,)*
                }
            }

            /// True for relocations that refer to a GOT slot rather than to the symbol itself.
            pub const fn is_got(self) -> bool {
                match self {
                    $(RelocKind::$kind => $got,)*
                }
            }

            /// Where the addend comes from.
            pub const fn addend(self) -> Addend {
                match self {
                    $(RelocKind::$kind => Addend::$addend,)*
                }
            }
        }
    };
}

relocations! {
    // kind                        => format, arch,   number, patch kind,          GOT,   addend
    R_X86_64_64                    => Elf,   X86_64,  1,     Abs64,                false, Explicit;
    R_X86_64_PC32                  => Elf,   X86_64,  2,     Rel32,                false, Explicit;
    R_X86_64_32                    => Elf,   X86_64,  10,    Abs32,                false, Explicit;
    R_X86_64_32S                   => Elf,   X86_64,  11,    Abs32s,               false, Explicit;
    R_X86_64_PLT32                 => Elf,   X86_64,  4,     Rel32,                false, Explicit;
    R_X86_64_GOTPCREL              => Elf,   X86_64,  9,     Rel32,                true,  Explicit;
    R_X86_64_GOTPCRELX             => Elf,   X86_64,  41,    X86_64Rel32x,         true,  Explicit;
    R_X86_64_REX_GOTPCRELX         => Elf,   X86_64,  42,    X86_64Rel32x,         true,  Explicit;
    R_AARCH64_ABS64                => Elf,   Aarch64, 257,   Abs64,                false, Explicit;
    R_AARCH64_ADD_ABS_LO12_NC      => Elf,   Aarch64, 277,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_ADR_GOT_PAGE         => Elf,   Aarch64, 311,   Aarch64Page21rx,      true,  Explicit;
    R_AARCH64_ADR_PREL_PG_HI21     => Elf,   Aarch64, 275,   Aarch64Page21r,       false, Explicit;
    R_AARCH64_CALL26               => Elf,   Aarch64, 283,   Aarch64Branch26r,     false, Explicit;
    R_AARCH64_CONDBR19             => Elf,   Aarch64, 280,   Aarch64Branch19r,     false, Explicit;
    R_AARCH64_JUMP26               => Elf,   Aarch64, 282,   Aarch64Branch26r,     false, Explicit;
    R_AARCH64_LD64_GOT_LO12_NC     => Elf,   Aarch64, 312,   Aarch64Lo12x,         true,  Explicit;
    R_AARCH64_LDST8_ABS_LO12_NC    => Elf,   Aarch64, 278,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_LDST16_ABS_LO12_NC   => Elf,   Aarch64, 284,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_LDST32_ABS_LO12_NC   => Elf,   Aarch64, 285,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_LDST64_ABS_LO12_NC   => Elf,   Aarch64, 286,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_LDST128_ABS_LO12_NC  => Elf,   Aarch64, 299,   Aarch64Lo12,          false, Explicit;
    R_AARCH64_MOVW_UABS_G0         => Elf,   Aarch64, 263,   Aarch64Mov16aChecked, false, Explicit;
    R_AARCH64_MOVW_UABS_G0_NC      => Elf,   Aarch64, 264,   Aarch64Mov16a,        false, Explicit;
    R_AARCH64_MOVW_UABS_G1         => Elf,   Aarch64, 265,   Aarch64Mov16bChecked, false, Explicit;
    R_AARCH64_MOVW_UABS_G1_NC      => Elf,   Aarch64, 266,   Aarch64Mov16b,        false, Explicit;
    R_AARCH64_MOVW_UABS_G2_NC      => Elf,   Aarch64, 268,   Aarch64Mov16c,        false, Explicit;
    R_AARCH64_MOVW_UABS_G3         => Elf,   Aarch64, 269,   Aarch64Mov16d,        false, Explicit;
    X86_64_RELOC_BRANCH            => MachO, X86_64,  2,     Rel32,                false, StoredRel32;
    X86_64_RELOC_GOT               => MachO, X86_64,  4,     X86_64Rel32x,         true,  StoredRel32;
    X86_64_RELOC_GOT_LOAD          => MachO, X86_64,  3,     X86_64Rel32x,         true,  StoredRel32;
    X86_64_RELOC_SIGNED            => MachO, X86_64,  1,     Rel32,                false, StoredRel32;
    X86_64_RELOC_UNSIGNED          => MachO, X86_64,  0,     Abs64,                false, Zero;
    ARM64_RELOC_BRANCH26           => MachO, Aarch64, 2,     Aarch64Branch26r,     false, Paired;
    ARM64_RELOC_GOT_LOAD_PAGE21    => MachO, Aarch64, 5,     Aarch64Page21rx,      true,  Paired;
    ARM64_RELOC_GOT_LOAD_PAGEOFF12 => MachO, Aarch64, 6,     Aarch64Lo12x,         true,  Paired;
    ARM64_RELOC_PAGE21             => MachO, Aarch64, 3,     Aarch64Page21r,       false, Paired;
    ARM64_RELOC_PAGEOFF12          => MachO, Aarch64, 4,     Aarch64Lo12,          false, Paired;
    ARM64_RELOC_UNSIGNED           => MachO, Aarch64, 0,     Abs64,                false, Paired;
    IMAGE_REL_AMD64_ADDR64         => Coff,  X86_64,  0x1,   Abs64,                false, Stored64;
    IMAGE_REL_AMD64_REL32          => Coff,  X86_64,  0x4,   X86_64Rel32x,         false, StoredRel32;
    IMAGE_REL_ARM64_ADDR64         => Coff,  Aarch64, 0xe,   Abs64,                false, Stored64;
    IMAGE_REL_ARM64_BRANCH26       => Coff,  Aarch64, 0x3,   Aarch64Branch26r,     false, Zero;
    IMAGE_REL_ARM64_PAGEBASE_REL21 => Coff,  Aarch64, 0x4,   Aarch64Page21rx,      false, Zero;
    IMAGE_REL_ARM64_PAGEOFFSET_12A => Coff,  Aarch64, 0x6,   Aarch64Lo12,          false, Zero;
    IMAGE_REL_ARM64_PAGEOFFSET_12L => Coff,  Aarch64, 0x7,   Aarch64Lo12x,         false, Zero;
    IMAGE_REL_I386_DIR32           => Coff,  I686,    0x6,   Abs32,                false, StoredU32;
    IMAGE_REL_I386_REL32           => Coff,  I686,    0x14,  X86_64Rel32x,         false, StoredRel32;
}

impl RelocKind {
    /// True for the absolute types whose field holds at most 32 bits of the value: x86-64's
    /// 32-bit immediates (clang emits them for a symbol it assumes in the low 2 GiB, the small
    /// code model, which patchjit.h declares only narrow values to be) and AArch64's checked
    /// `movz` groups (patchjit.h's narrow values on AArch64 ELF). A code or data address in
    /// such a field would fail at emission, so extraction refuses it at build time instead.
    pub const fn narrow_only(self) -> bool {
        matches!(
            self,
            RelocKind::R_X86_64_32
                | RelocKind::R_X86_64_32S
                | RelocKind::R_AARCH64_MOVW_UABS_G0
                | RelocKind::R_AARCH64_MOVW_UABS_G1
        )
    }

    /// Parses a relocation name as `llvm-readobj` prints it.
    pub fn from_name(name: &str) -> Option<RelocKind> {
        RelocKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The row for relocation type `number` of `format` objects for `arch`, if supported.
    pub fn from_number(format: Format, arch: Arch, number: u32) -> Option<RelocKind> {
        RelocKind::ALL
            .into_iter()
            .find(|k| k.format() == format && k.arch() == arch && k.number() == number)
    }
}

impl core::fmt::Display for RelocKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_by_name_and_by_number() {
        for kind in RelocKind::ALL {
            assert_eq!(RelocKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                RelocKind::from_number(kind.format(), kind.arch(), kind.number()),
                Some(kind)
            );
        }
        assert_eq!(RelocKind::from_number(Format::Elf, Arch::Aarch64, 1), None);
    }

    #[test]
    fn only_absolute_fields_of_at_most_32_bits_are_narrow_only() {
        for kind in RelocKind::ALL {
            let narrow_field = matches!(
                kind.patch_kind(),
                PatchKind::Abs32s
                    | PatchKind::Aarch64Mov16aChecked
                    | PatchKind::Aarch64Mov16bChecked
            ) || kind == RelocKind::R_X86_64_32;
            assert_eq!(kind.narrow_only(), narrow_field, "{kind}");
        }
        // i686 addresses are 32 bits: DIR32 takes any symbol.
        assert!(!RelocKind::IMAGE_REL_I386_DIR32.narrow_only());
    }

    #[test]
    fn addends_by_rule() {
        let field = [0xf8, 0xff, 0xff, 0xff, 1, 0, 0, 0];
        assert_eq!(Addend::Explicit.decode(&[], 7), Some(7));
        assert_eq!(Addend::Zero.decode(&field, 7), Some(0));
        assert_eq!(Addend::StoredRel32.decode(&field, 7), Some(-12));
        assert_eq!(Addend::StoredU32.decode(&field, 7), Some(0xffff_fff8));
        assert_eq!(Addend::Stored64.decode(&field, 7), Some(0x1_ffff_fff8));
        assert_eq!(Addend::Stored64.decode(&field[..7], 7), None);
    }
}
