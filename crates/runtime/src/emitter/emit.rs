//! Pass 2: copy every piece's stencils into the buffer and patch their holes.

use super::{BranchKind, Destination, EmitError, Emitter, Instruction, Layout, Section, Site};
use crate::patch::{PatchTarget, AARCH64_TRAMPOLINE_SIZE};
use crate::stencil::{Hole, HoleValue, NarrowType, PatchKind, StencilGroup};

impl Emitter<'_> {
    /// Pass 2 into `buf` as if `buf[0]` lived at address `base`: code at offset 0, data at
    /// `data_offset` (≥ [`Layout::code_len`], with `base + data_offset` a multiple of
    /// [`Layout::data_align`]). `buf` must be zero-filled, because trailing zero bytes of
    /// stencils are not copied.
    pub fn emit_into(
        &self,
        layout: &Layout<'_>,
        buf: &mut [u8],
        base: u64,
        data_offset: usize,
    ) -> Result<(), EmitError> {
        if !std::ptr::eq(layout.emitter, self) {
            return Err(EmitError::ForeignLayout);
        }
        let data_end = data_offset.checked_add(layout.data_len as usize);
        if data_offset < layout.code_len as usize
            || !base
                .wrapping_add(data_offset as u64)
                .is_multiple_of(u64::from(layout.data_align))
            || data_end.is_none_or(|e| e > buf.len())
            || base.checked_add(buf.len() as u64).is_none()
            || !base.is_multiple_of(u64::from(layout.code_align))
        {
            return Err(EmitError::BadBuffer {
                len: buf.len(),
                base,
                data_offset,
                code_len: layout.code_len,
                data_len: layout.data_len,
                data_align: layout.data_align,
                code_align: layout.code_align,
            });
        }
        let mut run = Run {
            emitter: self,
            groups: self.table.groups,
            layout,
            target: PatchTarget::new(buf, base),
            data_offset,
            code: 0,
            data: 0,
        };
        if let Some(g) = self.shim {
            run.piece_out_of_line(g, None, &NO_INSTRUCTION, true)?;
        }
        run.data = layout.instructions_data as usize;
        // Every instruction continues into the next piece but the last one without a terminator.
        let (last, before) = match self.instructions.split_last() {
            Some((last, before)) => (Some(last), before),
            None => (None, &[][..]),
        };
        // The next gap `align_code` asked for, by the instruction it precedes.
        let mut gap = 0;
        let gap_before = |gap: usize| {
            self.paddings
                .get(gap)
                .map_or(usize::MAX, |p| p.before as usize)
        };
        let mut next_gap = gap_before(gap);
        for (i, instruction) in before.iter().enumerate() {
            if i == next_gap {
                gap = run.pad(i, gap);
                next_gap = gap_before(gap);
            }
            let g = instruction.group;
            let group = &run.groups[g as usize];
            if group.data.len == 0 && group.code.holes.is_empty() {
                // Nothing to patch: the copy alone, without the piece's frame.
                let at = run.code;
                copy_small(&mut run.target.bytes[at..], group.code.body);
                run.code = at + group.code.len as usize;
            } else {
                run.piece(g, Some(i), instruction, true)?;
            }
        }
        if let Some(instruction) = last {
            let (i, continues) = (before.len(), self.terminator.is_some());
            gap = run.pad(i, gap);
            run.piece_out_of_line(instruction.group, Some(i), instruction, continues)?;
        }
        run.pad(self.instructions.len(), gap);
        if let Some(g) = self.terminator {
            run.piece_out_of_line(g, None, &NO_INSTRUCTION, true)?;
        }
        for (slot, &symbol) in layout.trampoline_symbols.iter().enumerate() {
            let address = self.symbols[symbol as usize].ok_or(EmitError::UnresolvedSymbol {
                site: Site {
                    group: "trampolines",
                    instruction: None,
                },
                symbol: self.table.symbols[symbol as usize],
            })?;
            let offset = layout.trampolines_offset as usize + slot * AARCH64_TRAMPOLINE_SIZE;
            run.target
                .write_aarch64_trampoline(offset, address)
                .map_err(|error| EmitError::Patch {
                    site: Site {
                        group: "trampolines",
                        instruction: None,
                    },
                    section: Section::Code,
                    hole: (slot * AARCH64_TRAMPOLINE_SIZE) as u32,
                    error,
                })?;
        }
        Ok(())
    }
}

/// State of pass 2.
struct Run<'e, 't, 'b> {
    emitter: &'e Emitter<'t>,
    /// The table's groups, one load away rather than two.
    groups: &'t [StencilGroup],
    layout: &'e Layout<'e>,
    target: PatchTarget<'b>,
    data_offset: usize,
    /// Code offset of the current piece.
    code: usize,
    /// Data offset (relative to `data_offset`) of the current piece.
    data: usize,
}

/// The values of the shim's and the terminator's holes: every field zero, no destinations.
const NO_INSTRUCTION: Instruction = Instruction::new(0);

/// The addresses a piece's holes are computed from; passed by value, so that it lives in
/// registers.
#[derive(Clone, Copy)]
struct Frame<'i> {
    site_group: u16,
    /// The instruction's index; `None` for the shim and the terminator.
    index: Option<usize>,
    /// Its fields ([`NO_INSTRUCTION`]'s for the shim and the terminator).
    instruction: &'i Instruction,
    code: u64,
    data: u64,
    /// Address after this piece's code; `None` when nothing follows it.
    continue_to: Option<u64>,
}

impl Run<'_, '_, '_> {
    /// [`Run::piece`] for the at most three pieces outside the loop: one more inlined copy of
    /// it, not three, keeps `emit_into`'s frame small (debug builds inline `inline(always)`
    /// too, and four copies made a 36 KiB frame that overflowed small thread stacks).
    #[inline(never)]
    fn piece_out_of_line(
        &mut self,
        g: u16,
        index: Option<usize>,
        instruction: &Instruction,
        continues: bool,
    ) -> Result<(), EmitError> {
        self.piece(g, index, instruction, continues)
    }

    /// Copies and patches one piece: instruction `index` (with its fields `instruction`), or
    /// the shim or terminator (`None`, no fields); `continues` if another piece follows it.
    #[inline(always)]
    fn piece(
        &mut self,
        g: u16,
        index: Option<usize>,
        instruction: &Instruction,
        continues: bool,
    ) -> Result<(), EmitError> {
        let group = &self.groups[g as usize];
        let code_at = self.code;
        let code = self.target.base + code_at as u64;
        let code_len = group.code.len as usize;
        let mut frame = Frame {
            site_group: g,
            index,
            instruction,
            code,
            data: 0,
            continue_to: continues.then_some(code + code_len as u64),
        };
        if group.data.len != 0 {
            // A power of two (checked on first use).
            let align = group.data_align as usize;
            self.data = (self.data + align - 1) & !(align - 1);
            let data_at = self.data_offset + self.data;
            frame.data = self.target.base + data_at as u64;
            copy_small(&mut self.target.bytes[data_at..], group.data.body);
            for hole in group.data.holes {
                self.patch(frame, hole, data_at, Section::Data)?;
            }
            self.data += group.data.len as usize;
        }
        copy_small(&mut self.target.bytes[code_at..], group.code.body);
        for hole in group.code.holes {
            self.patch(frame, hole, code_at, Section::Code)?;
        }
        self.code = code_at + code_len;
        Ok(())
    }

    /// Writes the no-op gaps from `emitter.paddings[gap]` on that precede instruction `i`
    /// (the instruction count: the terminator); returns the index of the next gap.
    #[cold]
    #[inline(never)]
    fn pad(&mut self, i: usize, mut gap: usize) -> usize {
        // Known: `align_code` refused a table of another triple, so there are no gaps.
        let Some(arch) = self.emitter.arch() else {
            return gap;
        };
        while let Some(p) = self
            .emitter
            .paddings
            .get(gap)
            .filter(|p| p.before as usize == i)
        {
            let at = self.code;
            super::nop::fill(arch, &mut self.target.bytes[at..at + p.len as usize]);
            self.code = at + p.len as usize;
            gap += 1;
        }
        gap
    }

    /// Where an error happened: the piece of group `g`, instruction `index`.
    #[cold]
    fn site(&self, g: u16, index: Option<usize>) -> Site {
        Site {
            group: self.emitter.group_of(g).name,
            instruction: index,
        }
    }

    #[inline]
    fn destination(&self, frame: Frame, branch: BranchKind) -> Result<u64, EmitError> {
        let site = || self.site(frame.site_group, frame.index);
        let destination = match branch {
            BranchKind::Jump => frame.instruction.jump_target,
            BranchKind::Error => frame.instruction.error_target,
        }
        .ok_or_else(|| EmitError::MissingDestination {
            site: site(),
            branch,
        })?;
        let index = match destination {
            Destination::Instruction(i) => Some(i),
            Destination::Label(l) => (l.emitter == self.emitter.id)
                .then(|| self.emitter.labels.get(l.index as usize).copied().flatten())
                .flatten(),
        };
        let start = index.and_then(|i| self.layout.instruction_starts.get(i as usize));
        let start = start.ok_or_else(|| EmitError::BadDestination {
            site: site(),
            branch,
            destination,
        })?;
        Ok(self.target.base + *start as u64)
    }

    /// `field` read through the narrow hole value's declared type `declared`: its bit
    /// pattern, or an error if the type cannot hold it. Inlined into the narrow values' arms,
    /// each with its type known, so that the check folds to a compare.
    #[inline(always)]
    fn narrow(
        &self,
        frame: Frame,
        hole: &Hole,
        section: Section,
        declared: NarrowType,
        field: u64,
    ) -> Result<u64, EmitError> {
        declared
            .pattern(field)
            .ok_or_else(|| EmitError::ValueOutOfRange {
                site: self.site(frame.site_group, frame.index),
                section,
                hole: hole.offset,
                patch: hole.patch,
                value: hole.value,
                declared,
                given: field,
            })
    }

    #[inline(always)]
    fn patch(
        &mut self,
        frame: Frame,
        hole: &Hole,
        at: usize,
        section: Section,
    ) -> Result<(), EmitError> {
        let emitter = self.emitter;
        let i = frame.instruction;
        let narrow = |declared, field| self.narrow(frame, hole, section, declared, field);
        let base = match hole.value {
            HoleValue::Code => frame.code,
            HoleValue::Continue => frame.continue_to.ok_or_else(|| EmitError::FallsOffEnd {
                site: self.site(frame.site_group, frame.index),
            })?,
            HoleValue::Data => frame.data,
            HoleValue::Executor => emitter.executor,
            HoleValue::Oparg => i.oparg,
            HoleValue::OpargU16 => narrow(NarrowType::U16, i.oparg)?,
            HoleValue::OpargU32 => narrow(NarrowType::U32, i.oparg)?,
            HoleValue::Operand0 => i.operand0,
            HoleValue::Operand0S32 => narrow(NarrowType::S32, i.operand0)?,
            HoleValue::Operand0U32 => narrow(NarrowType::U32, i.operand0)?,
            HoleValue::Operand0I32 => narrow(NarrowType::I32, i.operand0)?,
            HoleValue::Operand0Hi => i.operand0 >> 32,
            HoleValue::Operand0Lo => i.operand0 & 0xFFFF_FFFF,
            HoleValue::Operand1 => i.operand1,
            HoleValue::Operand1S16 => narrow(NarrowType::S16, i.operand1)?,
            HoleValue::Operand1S32 => narrow(NarrowType::S32, i.operand1)?,
            HoleValue::Operand1I32 => narrow(NarrowType::I32, i.operand1)?,
            HoleValue::Operand1Hi => i.operand1 >> 32,
            HoleValue::Operand1Lo => i.operand1 & 0xFFFF_FFFF,
            HoleValue::Target => i.target,
            HoleValue::JumpTarget => self.destination(frame, BranchKind::Jump)?,
            HoleValue::ErrorTarget => self.destination(frame, BranchKind::Error)?,
            HoleValue::Zero => 0,
            HoleValue::Custom(c) => match frame.index {
                Some(i) => emitter.custom[i * emitter.table.custom_values.len() + c as usize],
                None => 0,
            },
        };
        let symbol = match hole.symbol {
            Some(s) => emitter.symbols[s as usize].ok_or_else(|| EmitError::UnresolvedSymbol {
                site: self.site(frame.site_group, frame.index),
                symbol: emitter.table.symbols[s as usize],
            })?,
            None => 0,
        };
        let value = base.wrapping_add(symbol).wrapping_add(hole.addend as u64);
        let offset = at + hole.offset as usize;
        let mut kind = hole.patch;
        let mut value = value;
        if kind == PatchKind::Aarch64Trampoline {
            kind = PatchKind::Aarch64Branch26r;
            let location = self.target.base + offset as u64;
            let distance = value.wrapping_sub(location) as i64;
            if !(-(1i64 << 27)..(1i64 << 27)).contains(&distance) {
                let symbol = hole.symbol.unwrap_or(0);
                let slot = self
                    .layout
                    .trampoline_symbols
                    .binary_search(&symbol)
                    .unwrap_or(0);
                value = self.target.base
                    + self.layout.trampolines_offset as u64
                    + (slot * AARCH64_TRAMPOLINE_SIZE) as u64;
            }
        }
        self.target
            .apply(kind, offset, value)
            .map_err(|error| EmitError::Patch {
                site: self.site(frame.site_group, frame.index),
                section,
                hole: hole.offset,
                error,
            })
    }
}

/// Copies `src` to the start of `dst` (`dst` is at least as long, checked by the layout).
/// Stencils are mostly a few dozen bytes, where a call to `memcpy` costs more than the copy:
/// sizes up to 32 use two overlapping loads and stores (three single bytes below 4).
#[inline(always)]
pub(super) fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    let dst = &mut dst[..n];
    fn word<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
        b[at..at + N].try_into().expect("N bytes")
    }
    match n {
        0 => {}
        1..=3 => {
            let (a, b, c) = (src[0], src[n / 2], src[n - 1]);
            dst[0] = a;
            dst[n / 2] = b;
            dst[n - 1] = c;
        }
        4..=7 => {
            let (a, b) = (word::<4>(src, 0), word::<4>(src, n - 4));
            dst[..4].copy_from_slice(&a);
            dst[n - 4..].copy_from_slice(&b);
        }
        8..=15 => {
            let (a, b) = (word::<8>(src, 0), word::<8>(src, n - 8));
            dst[..8].copy_from_slice(&a);
            dst[n - 8..].copy_from_slice(&b);
        }
        16..=32 => {
            let (a, b) = (word::<16>(src, 0), word::<16>(src, n - 16));
            dst[..16].copy_from_slice(&a);
            dst[n - 16..].copy_from_slice(&b);
        }
        _ => dst.copy_from_slice(src),
    }
}
