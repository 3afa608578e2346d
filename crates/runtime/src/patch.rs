//! Patch functions: write a run-time value into one instruction or data word of a stencil copy.
//!
//! Every function works on a byte buffer plus the address its first byte will live at, so a unit
//! can be patched "as if" it were anywhere (tests, oracles, building before mapping). Each patch
//! checks that its location lies inside the buffer, that the instruction there has the form the
//! relocation expects, and that the value fits and is aligned; otherwise it returns a
//! [`PatchError`] and leaves the buffer untouched. Semantics follow CPython 3.14's `Python/jit.c`.

use std::fmt;

use crate::stencil::PatchKind;

/// Why a patch could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchProblem {
    /// The bytes to patch (or a GOT slot the patch reads) are not inside the buffer.
    OutOfBounds {
        /// The buffer's length.
        buffer_len: usize,
    },
    /// The value, or its distance from the location, does not fit in `bits` bits.
    OutOfRange {
        /// The field's width.
        bits: u32,
        /// Whether the field is signed (PC-relative fields are).
        signed: bool,
        /// The value, or for PC-relative patches its distance from the location.
        distance: i64,
    },
    /// The value or distance must be a multiple of `align`.
    Misaligned {
        /// The multiple the encoding needs: 4 for AArch64 instructions and branch distances,
        /// the access size for scaled loads.
        align: u64,
        /// The value or distance that is not.
        distance: i64,
    },
    /// The instruction at the location is not one this patch kind can rewrite.
    UnexpectedInstruction {
        /// The 32-bit instruction word found.
        found: u32,
        /// The instruction the patch kind rewrites.
        expected: &'static str,
    },
}

/// A patch that was refused; the buffer is unchanged at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatchError {
    /// Byte offset of the patch location in the buffer.
    pub offset: usize,
    /// The patch function that refused.
    pub kind: PatchKind,
    /// The value that was to be written (before any PC-relative subtraction).
    pub value: u64,
    /// Why it was refused.
    pub problem: PatchProblem,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot apply {:?} at offset {:#x} with value {:#x}: ",
            self.kind, self.offset, self.value
        )?;
        match self.problem {
            PatchProblem::OutOfBounds { buffer_len } => {
                write!(f, "location is outside the {buffer_len}-byte buffer")
            }
            PatchProblem::OutOfRange {
                bits,
                signed,
                distance,
            } => {
                write!(
                    f,
                    "{distance:#x} does not fit in {} {bits}-bit field",
                    if signed { "a signed" } else { "an unsigned" }
                )?;
                match reach(self.kind) {
                    Some((unit, instruction)) if signed => write!(
                        f,
                        ": a distance of {}, beyond the ±{} {instruction} reaches",
                        size(i128::from(distance) << unit, true),
                        size(1i128 << (bits - 1 + unit), false)
                    ),
                    _ => Ok(()),
                }
            }
            PatchProblem::Misaligned { align, distance } => {
                write!(f, "{distance:#x} is not a multiple of {align}")
            }
            PatchProblem::UnexpectedInstruction { found, expected } => {
                write!(f, "found instruction {found:#010x}, expected {expected}")
            }
        }
    }
}

impl std::error::Error for PatchError {}

/// For PC-relative kinds: log2 of the unit their field counts (bytes or 4 KiB pages) and the
/// instruction whose reach that is, so a refused distance can be told against the limit.
fn reach(kind: PatchKind) -> Option<(u32, &'static str)> {
    match kind {
        PatchKind::Aarch64Branch26r | PatchKind::Aarch64Trampoline => Some((0, "B/BL")),
        PatchKind::Aarch64Branch19r => Some((0, "B.cond/CBZ/CBNZ")),
        PatchKind::Rel32 | PatchKind::X86_64Rel32x => Some((0, "a rel32 displacement")),
        PatchKind::Aarch64Page21r | PatchKind::Aarch64Page21rx | PatchKind::Aarch64Pair33rx => {
            Some((12, "ADRP"))
        }
        _ => None,
    }
}

/// `bytes` in KiB, MiB or GiB, signed if `sign`; whole numbers without decimals.
fn size(bytes: i128, sign: bool) -> String {
    let (scale, unit) = match bytes.unsigned_abs() {
        b if b >= 1 << 30 => (1u64 << 30, "GiB"),
        b if b >= 1 << 20 => (1 << 20, "MiB"),
        _ => (1 << 10, "KiB"),
    };
    let value = bytes as f64 / scale as f64;
    let digits = if value.fract() == 0.0 { 0 } else { 1 };
    if sign {
        format!("{value:+.digits$} {unit}")
    } else {
        format!("{value:.digits$} {unit}")
    }
}

/// The bytes a patch may rewrite, relative to its offset: `offset - before .. offset + len`.
/// The emitter refuses a table with a hole whose footprint leaves its own stencil, so no patch
/// (relaxations included) can touch a neighbouring stencil. GOT slots that relaxations read are
/// reached through the value, bounded by the buffer, and never written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Footprint {
    pub before: u32,
    pub len: u32,
}

impl Footprint {
    pub(crate) fn of(kind: PatchKind) -> Footprint {
        // The opcode and ModRM bytes before the displacement are rewritten when relaxed; every
        // other patch writes exactly its width (an ADRP+LDR pair: both words).
        let before = match kind {
            PatchKind::X86_64Rel32x => 2,
            _ => 0,
        };
        Footprint {
            before,
            len: kind.width().into(),
        }
    }

    /// Whether a patch of `kind` may rewrite its `before` bytes, given what they hold (`None`:
    /// unknown, e.g. a neighbouring stencil's byte). A COFF `jmp rel32` (`E9`) at a stencil's
    /// start is an `X86_64Rel32x` hole at offset 1 that can never relax, whatever precedes it.
    pub(crate) fn may_rewrite_before(kind: PatchKind, before: &[Option<u8>]) -> bool {
        let values = |b: Option<u8>| b.map_or(0..=u8::MAX, |b| b..=b);
        match (kind, before) {
            (PatchKind::X86_64Rel32x, &[first, second]) => {
                values(first).any(|a| values(second).any(|b| x86_64_relaxed([a, b]).is_some()))
            }
            _ => false,
        }
    }
}

/// Size of one AArch64 branch trampoline: `LDR x8, #8; BR x8; .quad target`.
pub const AARCH64_TRAMPOLINE_SIZE: usize = 16;

const AARCH64_NOP: u32 = 0xD503_201F;

/// A buffer and the address of its first byte: the place patches are written "as if" mapped.
pub struct PatchTarget<'a> {
    /// The bytes patched in place.
    pub bytes: &'a mut [u8],
    /// The address `bytes[0]` will have when the code runs; PC-relative patches use it.
    pub base: u64,
}

impl<'a> PatchTarget<'a> {
    /// Patches `bytes` as if they lived at `base`.
    pub fn new(bytes: &'a mut [u8], base: u64) -> Self {
        PatchTarget { bytes, base }
    }

    #[inline(always)]
    /// Applies `kind` at `offset` with `value` (the hole's base + symbol + addend).
    /// [`PatchKind::Aarch64Trampoline`] is resolved by the emitter (it needs the trampoline area)
    /// and must arrive here as [`PatchKind::Aarch64Branch26r`].
    pub fn apply(&mut self, kind: PatchKind, offset: usize, value: u64) -> Result<(), PatchError> {
        // A fresh `Patch` per arm: only the arms that call out of line put one in memory.
        macro_rules! p {
            () => {
                Patch {
                    t: &mut *self,
                    kind,
                    offset,
                    value,
                }
            };
        }
        match kind {
            PatchKind::Abs32 => p!().abs32(false),
            PatchKind::Abs32s => p!().abs32(true),
            PatchKind::Abs64 => p!().abs64(),
            PatchKind::Rel32 => p!().rel32(value),
            PatchKind::X86_64Rel32x => p!().x86_64_rel32x(),
            PatchKind::Aarch64Lo12 | PatchKind::Aarch64Lo12x => p!().aarch64_lo12(offset, value),
            PatchKind::Aarch64Mov16a => p!().aarch64_mov16(0, false),
            PatchKind::Aarch64Mov16b => p!().aarch64_mov16(1, false),
            PatchKind::Aarch64Mov16c => p!().aarch64_mov16(2, false),
            PatchKind::Aarch64Mov16d => p!().aarch64_mov16(3, false),
            PatchKind::Aarch64Mov16aChecked => p!().aarch64_mov16(0, true),
            PatchKind::Aarch64Mov16bChecked => p!().aarch64_mov16(1, true),
            PatchKind::Aarch64Page21r | PatchKind::Aarch64Page21rx => {
                p!().aarch64_page21(offset, value)
            }
            PatchKind::Aarch64Branch26r | PatchKind::Aarch64Trampoline => p!().aarch64_branch26(),
            PatchKind::Aarch64Branch19r => p!().aarch64_branch19(),
            PatchKind::Aarch64Pair33rx => p!().aarch64_pair33rx(),
        }
    }

    /// Writes an AArch64 trampoline (`LDR x8, #8; BR x8; .quad target`) at `offset`.
    pub fn write_aarch64_trampoline(
        &mut self,
        offset: usize,
        target: u64,
    ) -> Result<(), PatchError> {
        let p = Patch {
            t: self,
            kind: PatchKind::Aarch64Trampoline,
            offset,
            value: target,
        };
        p.check_aligned(p.location(), 4)?;
        let slot = p.range(offset, AARCH64_TRAMPOLINE_SIZE)?;
        let bytes = &mut self.bytes[slot];
        bytes[0..4].copy_from_slice(&0x5800_0048u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&0xD61F_0100u32.to_le_bytes());
        bytes[8..16].copy_from_slice(&target.to_le_bytes());
        Ok(())
    }

    /// Reads the 64-bit word at absolute address `address` if it lies inside the buffer.
    fn read_u64_at(&self, address: u64) -> Option<u64> {
        let start = usize::try_from(address.checked_sub(self.base)?).ok()?;
        let bytes = self.bytes.get(start..start.checked_add(8)?)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }
}

/// What the `[opcode, ModRM]` of a `[rip + GOT slot]` instruction becomes when the slot's contents
/// are within reach: `mov reg, [rip+d]` → `lea`, `call`/`jmp [rip+d]` → `nop; call/jmp rel32`.
fn x86_64_relaxed(opcode: [u8; 2]) -> Option<[u8; 2]> {
    match opcode {
        [0x8B, modrm] if modrm & 0xC7 == 0x05 => Some([0x8D, modrm]),
        [0xFF, 0x15] => Some([0x90, 0xE8]),
        [0xFF, 0x25] => Some([0x90, 0xE9]),
        _ => None,
    }
}

/// True if a distance lies within a signed field of `bits` bits.
fn fits_signed(distance: i64, bits: u32) -> bool {
    let half = 1i64 << (bits - 1);
    (-half..half).contains(&distance)
}

fn is_aarch64_adrp(i: u32) -> bool {
    i & 0x9F00_0000 == 0x9000_0000
}
fn is_aarch64_add_sub_imm(i: u32) -> bool {
    i & 0x1F80_0000 == 0x1100_0000
}
fn is_aarch64_ldr_str_imm(i: u32) -> bool {
    i & 0x3B00_0000 == 0x3900_0000
}
fn is_aarch64_branch(i: u32) -> bool {
    i & 0x7C00_0000 == 0x1400_0000
}
/// `B.cond` (not `BC.cond`), `CBZ` or `CBNZ`: the branches with an imm19 at bits 5–23.
fn is_aarch64_branch19(i: u32) -> bool {
    i & 0xFF00_0010 == 0x5400_0000 || i & 0x7E00_0000 == 0x3400_0000
}
fn is_aarch64_mov_wide64(i: u32) -> bool {
    i & 0x9F80_0000 == 0x9280_0000
}
/// `LDR Xt, [Xn, #imm]` (64-bit, unsigned offset): what a GOT load pair ends with.
fn is_aarch64_ldr_x_imm(i: u32) -> bool {
    i & 0xFFC0_0000 == 0xF940_0000
}

fn bits(v: u64, start: u32, width: u32) -> u32 {
    ((v >> start) & ((1u64 << width) - 1)) as u32
}

struct Patch<'p, 'a> {
    t: &'p mut PatchTarget<'a>,
    kind: PatchKind,
    offset: usize,
    value: u64,
}

impl Patch<'_, '_> {
    fn error(&self, problem: PatchProblem) -> PatchError {
        PatchError {
            offset: self.offset,
            kind: self.kind,
            value: self.value,
            problem,
        }
    }

    fn location(&self) -> u64 {
        self.t.base.wrapping_add(self.offset as u64)
    }

    #[inline(always)]
    fn range(&self, offset: usize, len: usize) -> Result<std::ops::Range<usize>, PatchError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.t.bytes.len() => Ok(offset..end),
            _ => Err(self.error(PatchProblem::OutOfBounds {
                buffer_len: self.t.bytes.len(),
            })),
        }
    }

    fn check_aligned(&self, distance: u64, align: u64) -> Result<(), PatchError> {
        if distance & (align - 1) != 0 {
            return Err(self.error(PatchProblem::Misaligned {
                align,
                distance: distance as i64,
            }));
        }
        Ok(())
    }

    fn check_signed(&self, distance: i64, bits: u32) -> Result<(), PatchError> {
        if !fits_signed(distance, bits) {
            return Err(self.error(PatchProblem::OutOfRange {
                bits,
                signed: true,
                distance,
            }));
        }
        Ok(())
    }

    fn read32(&self, offset: usize) -> Result<u32, PatchError> {
        let r = self.range(offset, 4)?;
        Ok(u32::from_le_bytes(
            self.t.bytes[r].try_into().expect("4-byte range"),
        ))
    }

    fn write32(&mut self, offset: usize, word: u32) {
        self.t.bytes[offset..offset + 4].copy_from_slice(&word.to_le_bytes());
    }

    /// Reads the AArch64 instruction at `offset` after checking alignment and bounds.
    fn instruction(
        &self,
        offset: usize,
        ok: fn(u32) -> bool,
        expected: &'static str,
    ) -> Result<u32, PatchError> {
        self.check_aligned(self.t.base.wrapping_add(offset as u64), 4)?;
        let word = self.read32(offset)?;
        if !ok(word) {
            return Err(self.error(PatchProblem::UnexpectedInstruction {
                found: word,
                expected,
            }));
        }
        Ok(word)
    }

    /// A 32-bit field holding the value unsigned, or (`signed`) sign-extended by the CPU.
    fn abs32(&mut self, signed: bool) -> Result<(), PatchError> {
        let r = self.range(self.offset, 4)?;
        let fits = if signed {
            i32::try_from(self.value as i64).is_ok()
        } else {
            u32::try_from(self.value).is_ok()
        };
        if !fits {
            return Err(self.error(PatchProblem::OutOfRange {
                bits: 32,
                signed,
                distance: self.value as i64,
            }));
        }
        self.t.bytes[r].copy_from_slice(&(self.value as u32).to_le_bytes());
        Ok(())
    }

    #[inline(always)]
    fn abs64(&mut self) -> Result<(), PatchError> {
        let r = self.range(self.offset, 8)?;
        self.t.bytes[r].copy_from_slice(&self.value.to_le_bytes());
        Ok(())
    }

    #[inline(always)]
    fn rel32(&mut self, value: u64) -> Result<(), PatchError> {
        let r = self.range(self.offset, 4)?;
        let distance = value.wrapping_sub(self.location()) as i64;
        self.check_signed(distance, 32)?;
        self.t.bytes[r].copy_from_slice(&(distance as i32).to_le_bytes());
        Ok(())
    }

    /// `[rip + GOT slot]` operand: relaxed to the slot's contents when those are within ±2 GiB and
    /// the instruction is `mov reg, [rip+d]` (→ `lea`), `call [rip+d]` or `jmp [rip+d]`
    /// (→ `nop; call/jmp rel32`); otherwise the slot itself is referenced.
    fn x86_64_rel32x(&mut self) -> Result<(), PatchError> {
        self.range(self.offset, 4)?;
        let slot_contents = self.t.read_u64_at(self.value.wrapping_add(4));
        let (Some(contents), Some(before)) = (slot_contents, self.offset.checked_sub(2)) else {
            return self.rel32(self.value);
        };
        let relaxed = contents.wrapping_sub(4);
        let distance = relaxed.wrapping_sub(self.location()) as i64;
        // CPython keeps one byte of slack at the top of the range.
        if !(fits_signed(distance, 32) && distance < i32::MAX as i64) {
            return self.rel32(self.value);
        }
        let opcode = [self.t.bytes[before], self.t.bytes[before + 1]];
        let Some(rewritten) = x86_64_relaxed(opcode) else {
            return self.rel32(self.value);
        };
        self.rel32(relaxed)?;
        self.t.bytes[before..before + 2].copy_from_slice(&rewritten);
        Ok(())
    }

    fn aarch64_lo12(&mut self, offset: usize, value: u64) -> Result<(), PatchError> {
        let i = self.instruction(
            offset,
            |i| is_aarch64_ldr_str_imm(i) || (is_aarch64_add_sub_imm(i) && i & (1 << 22) == 0),
            "LDR/STR (unsigned immediate) or unshifted ADD/SUB (immediate)",
        )?;
        let mut shift = 0;
        if is_aarch64_ldr_str_imm(i) {
            shift = i >> 30;
            // 128-bit SIMD&FP load/store: size 00, V=1, opc<1>=1 scales by 16.
            if i & (1 << 26) != 0 && i & (1 << 23) != 0 && shift == 0 {
                shift = 4;
            }
        }
        let low12 = value & 0xFFF;
        self.check_aligned(low12, 1 << shift)?;
        let word = (i & !(0xFFF << 10)) | (bits(low12, shift, 12 - shift) << 10);
        self.write32(offset, word);
        Ok(())
    }

    /// Bits `16 * hw` up of the value in a MOV wide instruction; `checked`: the value must lie
    /// below `2^(16 * (hw + 1))` (the relocations without `_NC`).
    fn aarch64_mov16(&mut self, hw: u32, checked: bool) -> Result<(), PatchError> {
        let i = self.instruction(self.offset, is_aarch64_mov_wide64, "64-bit MOVZ/MOVK/MOVN")?;
        let bits_held = 16 * (hw + 1);
        if checked && self.value >> bits_held != 0 {
            return Err(self.error(PatchProblem::OutOfRange {
                bits: bits_held,
                signed: false,
                distance: self.value as i64,
            }));
        }
        if (i >> 21) & 3 != hw {
            let expected = [
                "MOV* with LSL #0",
                "MOV* with LSL #16",
                "MOV* with LSL #32",
                "MOV* with LSL #48",
            ];
            return Err(self.error(PatchProblem::UnexpectedInstruction {
                found: i,
                expected: expected[hw as usize],
            }));
        }
        let word = (i & !(0xFFFF << 5)) | (bits(self.value, 16 * hw, 16) << 5);
        self.write32(self.offset, word);
        Ok(())
    }

    fn aarch64_page21(&mut self, offset: usize, value: u64) -> Result<(), PatchError> {
        let i = self.instruction(offset, is_aarch64_adrp, "ADRP")?;
        let location = self.t.base.wrapping_add(offset as u64);
        let pages = ((value >> 12) as i64).wrapping_sub((location >> 12) as i64);
        self.check_signed(pages, 21)?;
        let p = pages as u64;
        let word =
            (i & !((3 << 29) | (0x7FFFF << 5))) | (bits(p, 0, 2) << 29) | (bits(p, 2, 19) << 5);
        self.write32(offset, word);
        Ok(())
    }

    fn aarch64_branch26(&mut self) -> Result<(), PatchError> {
        let i = self.instruction(self.offset, is_aarch64_branch, "B or BL")?;
        let distance = self.value.wrapping_sub(self.location()) as i64;
        self.check_aligned(distance as u64, 4)?;
        self.check_signed(distance, 28)?;
        let word = (i & !0x03FF_FFFF) | bits(distance as u64, 2, 26);
        self.write32(self.offset, word);
        Ok(())
    }

    fn aarch64_branch19(&mut self) -> Result<(), PatchError> {
        let i = self.instruction(self.offset, is_aarch64_branch19, "B.cond, CBZ or CBNZ")?;
        let distance = self.value.wrapping_sub(self.location()) as i64;
        self.check_aligned(distance as u64, 4)?;
        self.check_signed(distance, 21)?;
        let word = (i & !(0x7FFFF << 5)) | (bits(distance as u64, 2, 19) << 5);
        self.write32(self.offset, word);
        Ok(())
    }

    /// A folded `ADRP R, slot@PAGE; LDR R, [R, slot@PAGEOFF]` pair loading a GOT slot. Relaxed,
    /// by the slot's contents X, to `MOVZ R, #X; NOP`, `MOVZ; MOVK LSL 16`, or
    /// `LDR R, <literal slot>; NOP`; otherwise both words are patched as they are.
    fn aarch64_pair33rx(&mut self) -> Result<(), PatchError> {
        let adrp = self.instruction(
            self.offset,
            is_aarch64_adrp,
            "ADRP (first of a GOT load pair)",
        )?;
        let second = self
            .offset
            .checked_add(4)
            .ok_or(self.error(PatchProblem::OutOfBounds {
                buffer_len: self.t.bytes.len(),
            }))?;
        let ldr = self.instruction(
            second,
            is_aarch64_ldr_x_imm,
            "LDR Xt, [Xn, #imm] (second of a GOT load pair)",
        )?;
        let reg = adrp & 0x1F;
        if ldr & 0x1F != reg || (ldr >> 5) & 0x1F != reg {
            return Err(self.error(PatchProblem::UnexpectedInstruction {
                found: ldr,
                expected: "LDR whose Rt and Rn equal the ADRP's Rd",
            }));
        }
        if let Some(x) = self.t.read_u64_at(self.value) {
            if x < 1 << 16 {
                self.write32(self.offset, 0xD280_0000 | (bits(x, 0, 16) << 5) | reg);
                self.write32(second, AARCH64_NOP);
                return Ok(());
            }
            if x < 1 << 32 {
                self.write32(self.offset, 0xD280_0000 | (bits(x, 0, 16) << 5) | reg);
                self.write32(second, 0xF2A0_0000 | (bits(x, 16, 16) << 5) | reg);
                return Ok(());
            }
            let distance = self.value.wrapping_sub(self.location()) as i64;
            if distance & 3 == 0 && (-(1i64 << 19)..(1i64 << 19)).contains(&distance) {
                self.write32(
                    self.offset,
                    0x5800_0000 | (bits(distance as u64, 2, 19) << 5) | reg,
                );
                self.write32(second, AARCH64_NOP);
                return Ok(());
            }
        }
        // Check both halves before writing either, so a failure leaves the pair untouched.
        let mut scratch = [0u8; 8];
        scratch[0..4].copy_from_slice(&adrp.to_le_bytes());
        scratch[4..8].copy_from_slice(&ldr.to_le_bytes());
        let mut pair = PatchTarget::new(&mut scratch, self.location());
        let relabel = |mut e: PatchError| {
            e.offset += self.offset;
            e.kind = self.kind;
            e
        };
        let mut inner = Patch {
            t: &mut pair,
            kind: self.kind,
            offset: 0,
            value: self.value,
        };
        inner.aarch64_page21(0, self.value).map_err(relabel)?;
        inner.aarch64_lo12(4, self.value).map_err(relabel)?;
        self.t.bytes[self.offset..self.offset + 8].copy_from_slice(&scratch);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn word(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn apply(
        buf: &mut [u8],
        base: u64,
        kind: PatchKind,
        offset: usize,
        value: u64,
    ) -> Result<(), PatchError> {
        PatchTarget::new(buf, base).apply(kind, offset, value)
    }

    #[test]
    fn abs32_and_abs64() {
        let mut b = vec![0u8; 16];
        apply(&mut b, 0x1000, PatchKind::Abs64, 8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(&b[8..], &0x1122_3344_5566_7788u64.to_le_bytes());
        apply(&mut b, 0x1000, PatchKind::Abs32, 0, 0xFFFF_FFFF).unwrap();
        assert_eq!(&b[..4], &[0xFF; 4]);
        let e = apply(&mut b, 0x1000, PatchKind::Abs32, 4, 1 << 32).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::OutOfRange {
                bits: 32,
                signed: false,
                distance: 1 << 32
            }
        );
        assert_eq!(&b[4..8], &[0; 4], "nothing written on error");
        let e = apply(&mut b, 0x1000, PatchKind::Abs64, 9, 0).unwrap_err();
        assert_eq!(e.problem, PatchProblem::OutOfBounds { buffer_len: 16 });
        assert!(apply(&mut b, 0x1000, PatchKind::Abs32, usize::MAX - 1, 0).is_err());
    }

    #[test]
    fn abs32s_holds_exactly_the_sign_extended_values() {
        let mut b = vec![0u8; 8];
        for (value, field) in [
            (-1i64 as u64, 0xFFFF_FFFFu32),
            (i32::MIN as i64 as u64, 0x8000_0000),
            (i32::MAX as u64, 0x7FFF_FFFF),
        ] {
            apply(&mut b, 0, PatchKind::Abs32s, 4, value).unwrap();
            assert_eq!(&b[4..], &field.to_le_bytes());
        }
        for value in [1u64 << 31, 0xFFFF_FFFF, (i32::MIN as i64 - 1) as u64] {
            let e = apply(&mut b, 0, PatchKind::Abs32s, 0, value).unwrap_err();
            assert_eq!(
                e.problem,
                PatchProblem::OutOfRange {
                    bits: 32,
                    signed: true,
                    distance: value as i64
                }
            );
            assert!(e.to_string().ends_with("a signed 32-bit field"), "{e}");
        }
        assert_eq!(&b[..4], &[0; 4], "nothing written on error");
    }

    #[test]
    fn rel32_range_edges() {
        let mut b = vec![0u8; 8];
        let base = 0x1_0000_0000u64;
        apply(&mut b, base, PatchKind::Rel32, 4, base + 4 + 0x7FFF_FFFF).unwrap();
        assert_eq!(word(&b, 4), 0x7FFF_FFFF);
        apply(&mut b, base, PatchKind::Rel32, 4, base + 4 - 0x8000_0000).unwrap();
        assert_eq!(word(&b, 4), 0x8000_0000);
        let e = apply(&mut b, base, PatchKind::Rel32, 4, base + 4 + 0x8000_0000).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::OutOfRange {
                bits: 32,
                signed: true,
                distance: 0x8000_0000
            }
        );
        assert!(apply(&mut b, base, PatchKind::Rel32, 4, base + 3 - 0x8000_0000).is_err());
    }

    /// `call [rip+slot]` with the slot at offset 16, addend -4 (value = slot - 4).
    fn call_through_slot(base: u64, target: u64, opcode: [u8; 2]) -> Vec<u8> {
        let mut b = vec![
            opcode[0], opcode[1], 0, 0, 0, 0, 0xC3, 0x90, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        b.extend_from_slice(&target.to_le_bytes());
        apply(&mut b, base, PatchKind::X86_64Rel32x, 2, base + 16 - 4).unwrap();
        b
    }

    #[test]
    fn x86_64_rel32x_relaxes_call_and_jmp_in_range() {
        let base = 0x40_0000u64;
        let b = call_through_slot(base, 0x50_0000, [0xFF, 0x15]);
        assert_eq!(&b[..2], &[0x90, 0xE8]);
        // Next instruction at base + 6; rel32 = target - (base + 6).
        assert_eq!(word(&b, 2) as i32 as i64, 0x50_0000 - (base as i64 + 6));
        let b = call_through_slot(base, 0x50_0000, [0xFF, 0x25]);
        assert_eq!(&b[..2], &[0x90, 0xE9]);
    }

    #[test]
    fn x86_64_rel32x_keeps_slot_when_far() {
        let base = 0x40_0000u64;
        let far = base + (3u64 << 30);
        let b = call_through_slot(base, far, [0xFF, 0x15]);
        assert_eq!(&b[..2], &[0xFF, 0x15]);
        assert_eq!(word(&b, 2), 16 - 6, "displacement to the slot");
    }

    #[test]
    fn x86_64_rel32x_mov_becomes_lea() {
        let base = 0x7000_0000u64;
        // mov rax, [rip+slot]; slot at 8.
        let mut b = vec![0x48, 0x8B, 0x05, 0, 0, 0, 0, 0x90];
        b.extend_from_slice(&0x7000_1234u64.to_le_bytes());
        apply(&mut b, base, PatchKind::X86_64Rel32x, 3, base + 8 - 4).unwrap();
        assert_eq!(&b[..3], &[0x48, 0x8D, 0x05]);
        assert_eq!(word(&b, 3), 0x1234 - 7);
        // A non-rip-relative ModRM byte never relaxes.
        let mut b = vec![0x48, 0x8B, 0x04, 0, 0, 0, 0, 0x90];
        b.extend_from_slice(&0x7000_1234u64.to_le_bytes());
        apply(&mut b, base, PatchKind::X86_64Rel32x, 3, base + 8 - 4).unwrap();
        assert_eq!(b[1], 0x8B);
    }

    #[test]
    fn x86_64_rel32x_slot_outside_buffer_is_plain_rel32() {
        let mut b = vec![0xFF, 0x15, 0, 0, 0, 0];
        apply(&mut b, 0x1000, PatchKind::X86_64Rel32x, 2, 0x2000).unwrap();
        assert_eq!(&b[..2], &[0xFF, 0x15]);
        assert_eq!(word(&b, 2), 0x2000 - 0x1002);
    }

    const ADD_X0_X0_0: u32 = 0x9100_0000;
    const LDR_X1_X1_0: u32 = 0xF940_0021;
    const LDRB_W0_X0_0: u32 = 0x3940_0000;
    const LDR_Q0_X0_0: u32 = 0x3DC0_0000;
    const ADRP_X1: u32 = 0x9000_0001;

    #[test]
    fn aarch64_lo12_scales_and_checks_alignment() {
        let mut b = words(&[ADD_X0_X0_0, LDR_X1_X1_0, LDRB_W0_X0_0, LDR_Q0_X0_0]);
        apply(&mut b, 0, PatchKind::Aarch64Lo12, 0, 0x1234_5ABC).unwrap();
        assert_eq!(word(&b, 0), ADD_X0_X0_0 | (0xABC << 10));
        apply(&mut b, 0, PatchKind::Aarch64Lo12x, 4, 0xFF8).unwrap();
        assert_eq!(word(&b, 4), LDR_X1_X1_0 | ((0xFF8 >> 3) << 10));
        let e = apply(&mut b, 0, PatchKind::Aarch64Lo12, 4, 0xFF4).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::Misaligned {
                align: 8,
                distance: 0xFF4
            }
        );
        apply(&mut b, 0, PatchKind::Aarch64Lo12, 8, 0x123).unwrap();
        assert_eq!(word(&b, 8), LDRB_W0_X0_0 | (0x123 << 10));
        apply(&mut b, 0, PatchKind::Aarch64Lo12, 12, 0x120).unwrap();
        assert_eq!(word(&b, 12), LDR_Q0_X0_0 | (0x12 << 10));
        assert!(apply(&mut b, 0, PatchKind::Aarch64Lo12, 12, 0x128).is_err());
        let mut b = words(&[AARCH64_NOP]);
        let e = apply(&mut b, 0, PatchKind::Aarch64Lo12, 0, 0).unwrap_err();
        assert!(matches!(
            e.problem,
            PatchProblem::UnexpectedInstruction {
                found: AARCH64_NOP,
                ..
            }
        ));
        let mut b = words(&[ADD_X0_X0_0, ADD_X0_X0_0]);
        let e = apply(&mut b[2..], 2, PatchKind::Aarch64Lo12, 0, 0).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::Misaligned {
                align: 4,
                distance: 2
            }
        );
    }

    #[test]
    fn aarch64_mov16_checks_shift() {
        // movz x3, #0; movk x3, #0, lsl 16; movk x3, #0, lsl 32; movk x3, #0, lsl 48
        let mut b = words(&[0xD280_0003, 0xF2A0_0003, 0xF2C0_0003, 0xF2E0_0003]);
        let v = 0x1122_3344_5566_7788;
        let kinds = [
            PatchKind::Aarch64Mov16a,
            PatchKind::Aarch64Mov16b,
            PatchKind::Aarch64Mov16c,
            PatchKind::Aarch64Mov16d,
        ];
        for (i, k) in kinds.into_iter().enumerate() {
            apply(&mut b, 0, k, 4 * i, v).unwrap();
        }
        assert_eq!(word(&b, 0), 0xD280_0003 | (0x7788 << 5));
        assert_eq!(word(&b, 4), 0xF2A0_0003 | (0x5566 << 5));
        assert_eq!(word(&b, 8), 0xF2C0_0003 | (0x3344 << 5));
        assert_eq!(word(&b, 12), 0xF2E0_0003 | (0x1122 << 5));
        let e = apply(&mut b, 0, PatchKind::Aarch64Mov16b, 0, v).unwrap_err();
        assert!(matches!(
            e.problem,
            PatchProblem::UnexpectedInstruction { .. }
        ));
    }

    #[test]
    fn checked_aarch64_movz_holds_only_its_range() {
        // movz x3, #0; movz x3, #0, lsl 16
        let mut b = words(&[0xD280_0003, 0xD2A0_0003]);
        apply(&mut b, 0, PatchKind::Aarch64Mov16aChecked, 0, 0xFFFF).unwrap();
        apply(&mut b, 0, PatchKind::Aarch64Mov16bChecked, 4, 0xFFFF_FFFF).unwrap();
        assert_eq!(word(&b, 0), 0xD280_0003 | (0xFFFF << 5));
        assert_eq!(word(&b, 4), 0xD2A0_0003 | (0xFFFF << 5));
        for (kind, at, value, bits) in [
            (PatchKind::Aarch64Mov16aChecked, 0, 0x1_0000, 16),
            (PatchKind::Aarch64Mov16bChecked, 4, 1 << 32, 32),
            (PatchKind::Aarch64Mov16bChecked, 4, u64::MAX, 32),
        ] {
            let e = apply(&mut b, 0, kind, at, value).unwrap_err();
            assert_eq!(
                e.problem,
                PatchProblem::OutOfRange {
                    bits,
                    signed: false,
                    distance: value as i64
                }
            );
        }
        assert_eq!(word(&b, 0), 0xD280_0003 | (0xFFFF << 5), "unchanged");
    }

    #[test]
    fn aarch64_page21_range() {
        let mut b = words(&[ADRP_X1]);
        let base = 0x10_0000_0000u64;
        apply(
            &mut b,
            base + 0x10,
            PatchKind::Aarch64Page21r,
            0,
            base + 0x12_3456,
        )
        .unwrap();
        // 0x123 pages: immlo = 3, immhi = 0x48.
        assert_eq!(word(&b, 0), ADRP_X1 | (3 << 29) | (0x48 << 5));
        let mut b = words(&[ADRP_X1]);
        apply(&mut b, base, PatchKind::Aarch64Page21rx, 0, base - 0x1000).unwrap();
        assert_eq!(word(&b, 0), ADRP_X1 | (3 << 29) | (0x7FFFF << 5));
        let e = apply(&mut b, base, PatchKind::Aarch64Page21r, 0, base + (1 << 32)).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::OutOfRange {
                bits: 21,
                signed: true,
                distance: 1 << 20
            }
        );
        assert!(apply(&mut b, base, PatchKind::Aarch64Page21r, 0, base - (1 << 32)).is_ok());
        assert!(apply(
            &mut b,
            base,
            PatchKind::Aarch64Page21r,
            0,
            base - (1 << 32) - 0x1000
        )
        .is_err());
    }

    /// A program whose AArch64 code spans more than ±128 MiB fails with the limit spelled out.
    #[test]
    fn out_of_range_messages_state_the_reach() {
        let mut b = words(&[0x9400_0000]);
        let base = 0x4000_0000u64;
        let far = base + (1 << 27);
        let e = apply(&mut b, base, PatchKind::Aarch64Branch26r, 0, far).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot apply Aarch64Branch26r at offset 0x0 with value 0x48000000: 0x8000000 does \
             not fit in a signed 28-bit field: a distance of +128 MiB, beyond the ±128 MiB B/BL \
             reaches"
        );
        let back = base - (200 << 20) - 0x800;
        let e = apply(&mut b, base, PatchKind::Aarch64Branch26r, 0, back).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("a distance of -200.0 MiB, beyond the ±128 MiB B/BL reaches"),
            "{e}"
        );
        let mut b = words(&[ADRP_X1]);
        let e = apply(&mut b, base, PatchKind::Aarch64Page21r, 0, base + (5 << 30)).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("a distance of +5 GiB, beyond the ±4 GiB ADRP reaches"),
            "{e}"
        );
        let mut b = vec![0u8; 4];
        let e = apply(&mut b, 0, PatchKind::Abs32, 0, 1 << 32).unwrap_err();
        assert!(e.to_string().ends_with("unsigned 32-bit field"), "{e}");
    }

    #[test]
    fn aarch64_branch26_range_and_alignment() {
        let bl = 0x9400_0000u32;
        let mut b = words(&[bl]);
        let base = 0x4000_0000u64;
        apply(&mut b, base, PatchKind::Aarch64Branch26r, 0, base - 8).unwrap();
        assert_eq!(word(&b, 0), bl | 0x03FF_FFFE);
        apply(
            &mut b,
            base,
            PatchKind::Aarch64Branch26r,
            0,
            base + (1 << 27) - 4,
        )
        .unwrap();
        let e = apply(
            &mut b,
            base,
            PatchKind::Aarch64Branch26r,
            0,
            base + (1 << 27),
        )
        .unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::OutOfRange {
                bits: 28,
                signed: true,
                distance: 1 << 27
            }
        );
        let e = apply(&mut b, base, PatchKind::Aarch64Branch26r, 0, base + 6).unwrap_err();
        assert_eq!(
            e.problem,
            PatchProblem::Misaligned {
                align: 4,
                distance: 6
            }
        );
        let mut b = words(&[ADD_X0_X0_0]);
        assert!(apply(&mut b, base, PatchKind::Aarch64Branch26r, 0, base).is_err());
    }

    #[test]
    fn aarch64_branch19_range_alignment_and_forms() {
        // b.ne; cbz x0; cbnz w1 — each keeps its condition, register and opcode bits.
        let base = 0x4000_0000u64;
        for insn in [0x5400_0001u32, 0xB400_0000, 0x3500_0001] {
            let mut b = words(&[insn]);
            apply(&mut b, base, PatchKind::Aarch64Branch19r, 0, base - 8).unwrap();
            assert_eq!(word(&b, 0), insn | (0x7FFFE << 5), "{insn:#x}");
            let top = base + (1 << 20) - 4;
            apply(&mut b, base, PatchKind::Aarch64Branch19r, 0, top).unwrap();
            assert_eq!(word(&b, 0), insn | (0x3FFFF << 5), "{insn:#x}");
            apply(
                &mut b,
                base,
                PatchKind::Aarch64Branch19r,
                0,
                base - (1 << 20),
            )
            .unwrap();
            assert_eq!(word(&b, 0), insn | (0x40000 << 5), "{insn:#x}");
            let before = b.clone();
            for (value, distance) in [
                (base + (1 << 20), 1 << 20),
                (base - (1 << 20) - 4, -(1 << 20) - 4),
            ] {
                let e = apply(&mut b, base, PatchKind::Aarch64Branch19r, 0, value).unwrap_err();
                assert_eq!(
                    e.problem,
                    PatchProblem::OutOfRange {
                        bits: 21,
                        signed: true,
                        distance
                    }
                );
            }
            let e = apply(&mut b, base, PatchKind::Aarch64Branch19r, 0, base + 2).unwrap_err();
            assert_eq!(
                e.problem,
                PatchProblem::Misaligned {
                    align: 4,
                    distance: 2
                }
            );
            assert_eq!(b, before, "nothing written on error");
        }
        let e = apply(
            &mut words(&[0x5400_0001]),
            base,
            PatchKind::Aarch64Branch19r,
            0,
            base + (3 << 19),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("a distance of +1.5 MiB, beyond the ±1 MiB B.cond/CBZ/CBNZ reaches"),
            "{e}"
        );
        // `b`, `bc.ne` and `tbz` have other fields there: refused, not mangled.
        for insn in [0x1400_0000u32, 0x5400_0011, 0x3600_0000] {
            let mut b = words(&[insn]);
            let e = apply(&mut b, base, PatchKind::Aarch64Branch19r, 0, base).unwrap_err();
            assert!(
                matches!(e.problem, PatchProblem::UnexpectedInstruction { found, .. } if found == insn),
                "{insn:#x}"
            );
        }
    }

    /// ADRP x1; LDR x1, [x1] at 0 and a GOT slot holding `contents` at `slot_offset`.
    fn pair(base: u64, contents: u64, slot_offset: usize) -> Vec<u8> {
        let mut b = words(&[ADRP_X1, LDR_X1_X1_0]);
        b.resize(slot_offset, 0);
        b.extend_from_slice(&contents.to_le_bytes());
        apply(
            &mut b,
            base,
            PatchKind::Aarch64Pair33rx,
            0,
            base + slot_offset as u64,
        )
        .unwrap();
        b
    }

    #[test]
    fn aarch64_pair33rx_relaxations() {
        let base = 0x5555_0000_0000u64;
        let b = pair(base, 0xBEEF, 8);
        assert_eq!(
            (word(&b, 0), word(&b, 4)),
            (0xD280_0001 | (0xBEEF << 5), AARCH64_NOP)
        );
        let b = pair(base, 0xDEAD_BEEF, 8);
        assert_eq!(
            (word(&b, 0), word(&b, 4)),
            (0xD280_0001 | (0xBEEF << 5), 0xF2A0_0001 | (0xDEAD << 5))
        );
        let b = pair(base, 0x1234_5678_9ABC, 16);
        assert_eq!(
            (word(&b, 0), word(&b, 4)),
            (0x5800_0001 | (4 << 5), AARCH64_NOP)
        );
        // Slot 1 MiB away: beyond CPython's LDR-literal window, so ADRP+LDR stays.
        let b = pair(base, 0x1234_5678_9ABC, 1 << 20);
        assert_eq!(word(&b, 0), ADRP_X1 | (64 << 5));
        assert_eq!(word(&b, 4), LDR_X1_X1_0);
    }

    #[test]
    fn aarch64_pair33rx_rejects_mismatched_registers() {
        let mut b = words(&[ADRP_X1, 0xF940_0022]);
        let before = b.clone();
        let e = apply(&mut b, 0, PatchKind::Aarch64Pair33rx, 0, 0x100).unwrap_err();
        assert!(matches!(
            e.problem,
            PatchProblem::UnexpectedInstruction {
                found: 0xF940_0022,
                ..
            }
        ));
        assert_eq!(b, before);
        let mut b = words(&[ADRP_X1]);
        assert!(apply(&mut b, 0, PatchKind::Aarch64Pair33rx, 0, 0x100).is_err());
    }

    #[test]
    fn trampoline_words() {
        let mut b = vec![0u8; 16];
        PatchTarget::new(&mut b, 0x1000)
            .write_aarch64_trampoline(0, 0x1122_3344_5566_7788)
            .unwrap();
        assert_eq!(word(&b, 0), 0x5800_0048);
        assert_eq!(word(&b, 4), 0xD61F_0100);
        assert_eq!(&b[8..], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert!(PatchTarget::new(&mut b, 0x1000)
            .write_aarch64_trampoline(4, 0)
            .is_err());
    }

    /// Each kind, on the path that rewrites the most bytes (relaxations included), writes only
    /// inside its [`Footprint`]: the emitter's stencil check relies on it.
    #[test]
    fn patches_write_only_inside_their_footprint() {
        let base = 0x10_0000u64;
        let (at, slot) = (16usize, 48usize);
        let movz_x3 = |hw: u32| 0xD280_0003 | (hw << 21);
        let cases: &[(PatchKind, &[u32], u64, u64)] = &[
            (PatchKind::Abs32, &[], 0x1234_5678, 0),
            (PatchKind::Abs32s, &[], -1i64 as u64, 0),
            (PatchKind::Abs64, &[], 0x1122_3344_5566_7788, 0),
            (PatchKind::Rel32, &[], base + 0x100, 0),
            // `call [rip+slot]`, the slot holding a near address: relaxed to `nop; call`.
            (
                PatchKind::X86_64Rel32x,
                &[],
                base + slot as u64 - 4,
                base + 0x1000,
            ),
            (PatchKind::Aarch64Lo12, &[ADD_X0_X0_0], 0x123, 0),
            (PatchKind::Aarch64Lo12x, &[LDR_X1_X1_0], 0xFF8, 0),
            (PatchKind::Aarch64Mov16a, &[movz_x3(0)], u64::MAX, 0),
            (PatchKind::Aarch64Mov16b, &[movz_x3(1)], u64::MAX, 0),
            (PatchKind::Aarch64Mov16c, &[movz_x3(2)], u64::MAX, 0),
            (PatchKind::Aarch64Mov16d, &[movz_x3(3)], u64::MAX, 0),
            (PatchKind::Aarch64Mov16aChecked, &[movz_x3(0)], 0xFFFF, 0),
            (
                PatchKind::Aarch64Mov16bChecked,
                &[movz_x3(1)],
                0xFFFF_FFFF,
                0,
            ),
            (PatchKind::Aarch64Page21r, &[ADRP_X1], base + 0x5000, 0),
            (PatchKind::Aarch64Page21rx, &[ADRP_X1], base + 0x5000, 0),
            (PatchKind::Aarch64Branch26r, &[0x9400_0000], base + 0x100, 0),
            (PatchKind::Aarch64Branch19r, &[0x5400_0001], base + 0x100, 0),
            (
                PatchKind::Aarch64Trampoline,
                &[0x9400_0000],
                base + 0x100,
                0,
            ),
            // A 32-bit slot value: relaxed to `MOVZ; MOVK`, both words rewritten.
            (
                PatchKind::Aarch64Pair33rx,
                &[ADRP_X1, LDR_X1_X1_0],
                base + slot as u64,
                0xDEAD_BEEF,
            ),
        ];
        for &(kind, instructions, value, slot_contents) in cases {
            let mut b = vec![0xAAu8; 64];
            if kind == PatchKind::X86_64Rel32x {
                b[at - 2..at].copy_from_slice(&[0xFF, 0x15]);
            }
            let code = words(instructions);
            b[at..at + code.len()].copy_from_slice(&code);
            b[slot..slot + 8].copy_from_slice(&slot_contents.to_le_bytes());
            let before = b.clone();
            apply(&mut b, base, kind, at, value).unwrap();
            let f = Footprint::of(kind);
            let inside = at - f.before as usize..at + f.len as usize;
            // The whole footprint is used: the bytes before (relaxed opcode) and the last word.
            let ends = [inside.start..at, inside.end - 4..inside.end];
            for end in ends.into_iter().filter(|r| !r.is_empty()) {
                assert_ne!(b[end.clone()], before[end.clone()], "{kind:?} left {end:?}");
            }
            for i in (0..b.len()).filter(|i| !inside.contains(i)) {
                assert_eq!(
                    b[i], before[i],
                    "{kind:?} wrote byte {i}, outside {inside:?}"
                );
            }
        }
    }
}
