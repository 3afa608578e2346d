//! What a hole is patched with ([`HoleValue`]) and how ([`PatchKind`]).

use core::fmt;

/// Defines [`PatchKind`] from one row per kind: variant, CPython's function name, bytes written.
macro_rules! patch_kinds {
    ($($(#[$doc:meta])* $kind:ident => $func:literal, $width:literal;)*) => {
        /// How a hole is written: one patch function per instruction or data encoding
        /// ("r" = PC-relative, "x" = may relax a GOT load into a direct form). The same kind
        /// names the same function at build time (extraction, CPython's header) and at run time
        /// (the emitter), so generated tables need no translation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum PatchKind {
            $($(#[$doc])* $kind,)*
        }

        impl PatchKind {
            /// Every kind, in declaration order.
            pub const ALL: [PatchKind; [$(stringify!($kind)),*].len()] = [$(PatchKind::$kind),*];

            /// CPython's name for the patch function (`patch_x86_64_32rx`).
            pub const fn func_name(self) -> &'static str {
                match self {
                    $(PatchKind::$kind => $func,)*
                }
            }

            /// The variant's identifier (`X86_64Rel32x`), as generated Rust tables spell it.
            pub const fn variant(self) -> &'static str {
                match self {
                    $(PatchKind::$kind => stringify!($kind),)*
                }
            }

            /// How many bytes from the hole's offset the patch reads and rewrites: every reader,
            /// grouping step and the emitter refuse holes whose bytes are not all in the stencil.
            pub const fn width(self) -> u8 {
                match self {
                    $(PatchKind::$kind => $width,)*
                }
            }
        }
    };
}

patch_kinds! {
    /// An absolute 32-bit address or value (i686 `DIR32`, x86-64 `R_X86_64_32`); must fit in
    /// 32 bits unsigned.
    Abs32 => "patch_32", 4;
    /// A 32-bit field the CPU sign-extends (x86-64 `R_X86_64_32S` immediates and
    /// displacements); must fit in 32 bits signed.
    Abs32s => "patch_32s", 4;
    /// An absolute 64-bit address.
    Abs64 => "patch_64", 8;
    /// A 32-bit PC-relative displacement (calls, jumps, RIP-relative operands).
    Rel32 => "patch_32r", 4;
    /// A RIP-relative GOT load that may be relaxed into a direct `lea`/call/jump.
    X86_64Rel32x => "patch_x86_64_32rx", 4;
    /// The low 12 bits of an address in an `add`/`ldr`/`str` immediate (scaled for loads).
    Aarch64Lo12 => "patch_aarch64_12", 4;
    /// As [`PatchKind::Aarch64Lo12`], for the `ldr` of a GOT load that may be relaxed.
    Aarch64Lo12x => "patch_aarch64_12x", 4;
    /// Bits 0–15 of a value in a `movz`/`movk`.
    Aarch64Mov16a => "patch_aarch64_16a", 4;
    /// Bits 16–31 of a value in a `movk`.
    Aarch64Mov16b => "patch_aarch64_16b", 4;
    /// A value below 2^16 in a `movz` (`R_AARCH64_MOVW_UABS_G0`, checked).
    Aarch64Mov16aChecked => "patch_aarch64_16a_checked", 4;
    /// Bits 16–31 of a value below 2^32 in a `movz` (`R_AARCH64_MOVW_UABS_G1`, checked).
    Aarch64Mov16bChecked => "patch_aarch64_16b_checked", 4;
    /// Bits 32–47 of a value in a `movk`.
    Aarch64Mov16c => "patch_aarch64_16c", 4;
    /// Bits 48–63 of a value in a `movk`.
    Aarch64Mov16d => "patch_aarch64_16d", 4;
    /// The 4 KiB page delta of an `adrp`.
    Aarch64Page21r => "patch_aarch64_21r", 4;
    /// As [`PatchKind::Aarch64Page21r`], for the `adrp` of a GOT load that may be relaxed.
    Aarch64Page21rx => "patch_aarch64_21rx", 4;
    /// A 26-bit branch displacement (`b`/`bl`).
    Aarch64Branch26r => "patch_aarch64_26r", 4;
    /// A 19-bit conditional branch displacement (`b.cond`, `cbz`, `cbnz`), reaching ±1 MiB:
    /// what hot-path fallthrough turns `b.cond CONTINUE; b X` into (CPython 3.15's name).
    Aarch64Branch19r => "patch_aarch64_19r", 4;
    /// A folded `adrp` + `ldr` pair (8 bytes) loading a GOT slot.
    Aarch64Pair33rx => "patch_aarch64_33rx", 8;
    /// A branch to an external symbol that may need a trampoline; at build time the addend is
    /// the trampoline's ordinal.
    Aarch64Trampoline => "patch_aarch64_trampoline", 4;
}

impl PatchKind {
    /// Inverse of [`PatchKind::func_name`], for readers of JSON and CPython's headers.
    pub fn from_func_name(name: &str) -> Option<PatchKind> {
        PatchKind::ALL.into_iter().find(|k| k.func_name() == name)
    }
}

/// Defines [`HoleValue`]'s built-in variants from one row each: variant and CPython's name.
macro_rules! hole_values {
    ($($(#[$doc:meta])* $value:ident => $name:literal;)*) => {
        /// The base of a patch: which run-time quantity a hole holds before its symbol's address
        /// and its addend are added. A template names one through the symbol `_JIT_<NAME>`.
        ///
        /// `C` identifies a client-defined value: its upper-case name at build time
        /// (`HoleValue<String>`, so extraction results and their errors read on their own), its
        /// index into the table's `custom_values` at run time (`HoleValue<u16>`, so generated
        /// tables stay `Copy` and `'static`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum HoleValue<C> {
            $($(#[$doc])* $value,)*
            /// A value the client defined (`_JIT_<NAME>` with `NAME` declared by the client).
            Custom(C),
        }

        impl<C> HoleValue<C> {
            /// The built-in values: CPython's, in its declaration order (its `GOT` exists only
            /// inside extraction and is resolved into [`HoleValue::Data`] there), then
            /// patchjit's narrow forms (see [`HoleValue::narrow`]).
            pub const BUILTIN: [HoleValue<C>; [$(stringify!($value)),*].len()] =
                [$(HoleValue::$value),*];

            /// The upper-case name used in `_JIT_<NAME>` symbols, JSON and CPython's comments;
            /// `None` for [`HoleValue::Custom`].
            pub const fn builtin_name(&self) -> Option<&'static str> {
                match self {
                    $(HoleValue::$value => Some($name),)*
                    HoleValue::Custom(_) => None,
                }
            }

            /// The variant's identifier (`Operand0`, `Custom`), as generated Rust tables spell it.
            pub const fn variant(&self) -> &'static str {
                match self {
                    $(HoleValue::$value => stringify!($value),)*
                    HoleValue::Custom(_) => "Custom",
                }
            }

            /// The same value with a [`HoleValue::Custom`] identifier replaced by `f`'s; how a
            /// build-time name becomes a run-time index.
            pub fn map_custom<D>(self, f: impl FnOnce(C) -> D) -> HoleValue<D> {
                match self {
                    $(HoleValue::$value => HoleValue::$value,)*
                    HoleValue::Custom(c) => HoleValue::Custom(f(c)),
                }
            }
        }

        impl<C: AsRef<str>> HoleValue<C> {
            /// The upper-case name: [`HoleValue::builtin_name`], or the client's name.
            pub fn name(&self) -> &str {
                match self {
                    $(HoleValue::$value => $name,)*
                    HoleValue::Custom(name) => name.as_ref(),
                }
            }
        }
    };
}

hole_values! {
    /// Start of this stencil's code.
    Code => "CODE";
    /// Start of the next stencil's code (the continuation).
    Continue => "CONTINUE";
    /// Start of this stencil's data.
    Data => "DATA";
    /// The executor the code belongs to (CPython's `_PyExecutorObject *`).
    Executor => "EXECUTOR";
    /// The instruction's `oparg`.
    Oparg => "OPARG";
    /// The instruction's first 64-bit operand.
    Operand0 => "OPERAND0";
    /// The high 32 bits of [`HoleValue::Operand0`].
    Operand0Hi => "OPERAND0_HI";
    /// The low 32 bits of [`HoleValue::Operand0`].
    Operand0Lo => "OPERAND0_LO";
    /// The instruction's second 64-bit operand.
    Operand1 => "OPERAND1";
    /// The high 32 bits of [`HoleValue::Operand1`].
    Operand1Hi => "OPERAND1_HI";
    /// The low 32 bits of [`HoleValue::Operand1`].
    Operand1Lo => "OPERAND1_LO";
    /// The instruction's `target` field.
    Target => "TARGET";
    /// Address of the code the instruction jumps to.
    JumpTarget => "JUMP_TARGET";
    /// Address of the code the instruction exits to on error.
    ErrorTarget => "ERROR_TARGET";
    /// No base: the hole's value is the address of its symbol plus the addend.
    Zero => "ZERO";
    /// [`HoleValue::Oparg`] declared `uint16_t` (`PATCHJIT_OPARG_U16`).
    OpargU16 => "OPARG_U16";
    /// [`HoleValue::Oparg`] declared `uint32_t` (`PATCHJIT_OPARG_U32`).
    OpargU32 => "OPARG_U32";
    /// [`HoleValue::Operand0`] declared `int32_t` (`PATCHJIT_OPERAND0_S32`).
    Operand0S32 => "OPERAND0_S32";
    /// [`HoleValue::Operand0`] declared `uint32_t` (`PATCHJIT_OPERAND0_U32`).
    Operand0U32 => "OPERAND0_U32";
    /// [`HoleValue::Operand1`] declared `int16_t` (`PATCHJIT_OPERAND1_S16`).
    Operand1S16 => "OPERAND1_S16";
    /// [`HoleValue::Operand1`] declared `int32_t` (`PATCHJIT_OPERAND1_S32`).
    Operand1S32 => "OPERAND1_S32";
    /// [`HoleValue::Operand0`] as a 64-bit value in `int32_t`'s range (`PATCHJIT_OPERAND0_I32`),
    /// which clang folds into an x86-64 imm32/disp32.
    Operand0I32 => "OPERAND0_I32";
    /// [`HoleValue::Operand1`] as a 64-bit value in `int32_t`'s range (`PATCHJIT_OPERAND1_I32`).
    Operand1I32 => "OPERAND1_I32";
}

/// The C type a narrow value is declared with (`PATCHJIT_OPERAND0_S32` is an `int32_t`). A
/// template sees only the type's bits of the value, so the value must lie in the type's range:
/// the emitter refuses any other, rather than patch in a truncation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NarrowType {
    /// `uint16_t`.
    U16,
    /// `int16_t`.
    S16,
    /// `uint32_t`.
    U32,
    /// `int32_t`.
    S32,
    /// An `int64_t` in `int32_t`'s range: the template reads the symbol's address itself, so
    /// it is patched sign-extended and clang can fold it into the instruction using it.
    I32,
}

impl NarrowType {
    /// The C type's name, for errors and documentation.
    pub const fn c_type(self) -> &'static str {
        match self {
            NarrowType::U16 => "uint16_t",
            NarrowType::S16 => "int16_t",
            NarrowType::U32 => "uint32_t",
            NarrowType::S32 => "int32_t",
            NarrowType::I32 => "int64_t in int32_t's range",
        }
    }

    /// The type's width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            NarrowType::U16 | NarrowType::S16 => 16,
            NarrowType::U32 | NarrowType::S32 | NarrowType::I32 => 32,
        }
    }

    /// Whether the type is signed (a signed value is given as its 64-bit sign extension).
    pub const fn signed(self) -> bool {
        matches!(self, NarrowType::S16 | NarrowType::S32 | NarrowType::I32)
    }

    /// The smallest and largest value of the type.
    pub const fn range(self) -> (i64, i64) {
        let bits = self.bits();
        if self.signed() {
            (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
        } else {
            (0, (1i64 << bits) - 1)
        }
    }

    /// The symbol address a template reads `value` from: its bit pattern in the type's width,
    /// zero-extended (`-1` as `int32_t` is `0xFFFF_FFFF`, which a 32-bit unsigned field holds
    /// and the template's cast back to `int32_t` restores), or for [`NarrowType::I32`] the
    /// value itself. `value` is the instruction's 64-bit field (signed values sign-extended);
    /// `None` if it lies outside the type's range. Inlined, so that the emitter's patch
    /// loop, which knows the type at each call, checks with a compare.
    #[inline(always)]
    pub const fn pattern(self, value: u64) -> Option<u64> {
        let signed = value as i64;
        let (fits, pattern) = match self {
            NarrowType::U16 => (value <= 0xFFFF, value),
            NarrowType::S16 => (signed == signed as i16 as i64, value & 0xFFFF),
            NarrowType::U32 => (value <= 0xFFFF_FFFF, value),
            NarrowType::S32 => (signed == signed as i32 as i64, value & 0xFFFF_FFFF),
            NarrowType::I32 => (signed == signed as i32 as i64, value),
        };
        if fits {
            Some(pattern)
        } else {
            None
        }
    }
}

impl<C> HoleValue<C> {
    /// The declared type of a narrow value (`OPERAND0_S32`: `int32_t`), `None` for every other.
    pub const fn narrow(&self) -> Option<NarrowType> {
        match self {
            HoleValue::OpargU16 => Some(NarrowType::U16),
            HoleValue::OpargU32 | HoleValue::Operand0U32 => Some(NarrowType::U32),
            HoleValue::Operand0S32 | HoleValue::Operand1S32 => Some(NarrowType::S32),
            HoleValue::Operand1S16 => Some(NarrowType::S16),
            HoleValue::Operand0I32 | HoleValue::Operand1I32 => Some(NarrowType::I32),
            _ => None,
        }
    }
}

impl<C> HoleValue<C> {
    /// Parses a built-in name (`"OPARG"`); client-defined names are resolved by the caller.
    pub fn from_builtin_name(name: &str) -> Option<HoleValue<C>> {
        HoleValue::BUILTIN
            .into_iter()
            .find(|v| v.builtin_name() == Some(name))
    }
}

impl<C: AsRef<str>> fmt::Display for HoleValue<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in PatchKind::ALL {
            assert_eq!(PatchKind::from_func_name(kind.func_name()), Some(kind));
        }
        for value in HoleValue::<&str>::BUILTIN {
            assert_eq!(HoleValue::from_builtin_name(value.name()), Some(value));
        }
        assert_eq!(HoleValue::<&str>::from_builtin_name("GOT"), None);
        assert_eq!(HoleValue::Custom("COUNTER").name(), "COUNTER");
        assert_eq!(
            HoleValue::Custom("X").map_custom(|_| 3u16),
            HoleValue::Custom(3)
        );
        assert_eq!(HoleValue::<u16>::Operand0Hi.variant(), "Operand0Hi");
    }

    #[test]
    fn narrow_values_accept_exactly_their_type() {
        use NarrowType::*;
        let cases: [(NarrowType, u64, Option<u64>); 12] = [
            (S32, -1i64 as u64, Some(0xFFFF_FFFF)),
            (S32, i32::MIN as i64 as u64, Some(0x8000_0000)),
            (S32, i32::MAX as u64, Some(0x7FFF_FFFF)),
            (S32, 1 << 31, None),
            (S32, (i32::MIN as i64 - 1) as u64, None),
            (U32, u32::MAX.into(), Some(0xFFFF_FFFF)),
            (U32, 1 << 32, None),
            (U32, -1i64 as u64, None),
            (S16, i16::MIN as i64 as u64, Some(0x8000)),
            (S16, 1 << 15, None),
            (U16, 0xFFFF, Some(0xFFFF)),
            (U16, 0x1_0000, None),
        ];
        for (ty, value, pattern) in cases {
            assert_eq!(ty.pattern(value), pattern, "{ty:?} {value:#x}");
        }
        assert_eq!(S16.range(), (-32768, 32767));
        assert_eq!(HoleValue::<u16>::Operand0S32.narrow(), Some(S32));
        assert_eq!(HoleValue::<u16>::Operand0.narrow(), None);
    }

    /// `pattern` accepts exactly the values `range` gives (on every type's edges and their
    /// neighbours) and keeps the type's low bits (I32: the value itself).
    #[test]
    fn narrow_patterns_follow_the_ranges() {
        use NarrowType::*;
        let mut values = [0u64; 33];
        values[1] = 1;
        values[2] = u64::MAX;
        let mut at = 3;
        for bits in [15, 16, 31, 32, 63] {
            for v in [1u64 << bits, (1u64 << bits) - 1, (1u64 << bits) + 1] {
                values[at] = v;
                values[at + 1] = v.wrapping_neg();
                at += 2;
            }
        }
        for ty in [U16, S16, U32, S32, I32] {
            let (min, max) = ty.range();
            for &v in &values {
                let fits = if ty.signed() {
                    (min..=max).contains(&(v as i64))
                } else {
                    v <= max as u64
                };
                let low = if ty == I32 {
                    v
                } else {
                    v & (u64::MAX >> (64 - ty.bits()))
                };
                assert_eq!(ty.pattern(v), fits.then_some(low), "{ty:?} {v:#x}");
            }
        }
    }

    #[test]
    fn only_64_bit_and_pair_patches_write_8_bytes() {
        for kind in PatchKind::ALL {
            let wide = matches!(kind, PatchKind::Abs64 | PatchKind::Aarch64Pair33rx);
            assert_eq!(kind.width(), if wide { 8 } else { 4 }, "{kind:?}");
        }
    }
}
