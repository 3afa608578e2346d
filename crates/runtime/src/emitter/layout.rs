//! Pass 1: where each instruction's code starts, the trampolines needed, and the unit's size.

use std::fmt;

use super::{EmitError, Emitter};
use crate::patch::AARCH64_TRAMPOLINE_SIZE;
use crate::stencil::StencilGroup;

/// Sizes and offsets from pass 1. It borrows its emitter, so the program cannot change while a
/// layout of it exists, and [`Emitter::emit_into`] refuses another emitter's layout. A stale
/// layout does not compile:
///
/// ```compile_fail,E0502
/// # use patchjit::{Emitter, Instruction, StencilTable};
/// # static TABLE: StencilTable = StencilTable {
/// #     target: "x86_64-unknown-linux-gnu", groups: &[], symbols: &[], custom_values: &[],
/// # };
/// let mut e = Emitter::new(&TABLE, &[]).unwrap();
/// let layout = e.layout().unwrap();
/// let _ = e.push(Instruction::new(0)); // error: `e` is borrowed by `layout`
/// let mut buf = [0u8; 64];
/// e.emit_into(&layout, &mut buf, 0x1000, 0).unwrap();
/// ```
#[derive(Clone)]
pub struct Layout<'e> {
    pub(super) emitter: &'e Emitter<'e>,
    /// Code offset of each instruction (the emitter's, kept as they were pushed).
    pub(super) instruction_starts: &'e [u32],
    /// Offset of the trampoline area (the end of the last group's code, 8-aligned).
    pub(super) trampolines_offset: u32,
    /// Symbols that get a trampoline, in slot order.
    pub(super) trampoline_symbols: Vec<u16>,
    pub(super) code_len: u32,
    pub(super) data_len: u32,
    /// Data offset of the instructions' data: after the shim's, at a multiple of their
    /// largest alignment (their offsets were counted from there as they were pushed).
    pub(super) instructions_data: u32,
    pub(super) data_align: u32,
    pub(super) code_align: u32,
}

impl Layout<'_> {
    /// Code offset of each instruction, e.g. to map addresses back to instructions.
    pub fn instruction_starts(&self) -> &[u32] {
        self.instruction_starts
    }

    /// Code bytes including trampolines: what a buffer for [`Emitter::emit_into`] needs before
    /// the data.
    pub fn code_len(&self) -> u32 {
        self.code_len
    }

    /// Data bytes (each group's data starts at a multiple of its
    /// [`StencilGroup::data_align`](crate::StencilGroup::data_align)).
    pub fn data_len(&self) -> u32 {
        self.data_len
    }

    /// What the data's address must be a multiple of (the largest alignment of the pieces'
    /// data, at least 8): [`Emitter::emit_into`] refuses a buffer that does not give it.
    pub fn data_align(&self) -> u32 {
        self.data_align
    }

    /// What the code's address must be a multiple of: the largest
    /// [`Emitter::align_code`] asked for (1 if none). [`Emitter::emit_into`] refuses a base
    /// that does not give it.
    pub fn code_align(&self) -> u32 {
        self.code_align
    }
}

impl fmt::Debug for Layout<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layout")
            .field("instruction_starts", &self.instruction_starts)
            .field("trampolines_offset", &self.trampolines_offset)
            .field("trampoline_symbols", &self.trampoline_symbols)
            .field("code_len", &self.code_len)
            .field("data_len", &self.data_len)
            .field("instructions_data", &self.instructions_data)
            .field("data_align", &self.data_align)
            .field("code_align", &self.code_align)
            .finish()
    }
}

impl Emitter<'_> {
    /// Pass 1: sizes, instruction starts and the trampolines needed. The instructions' part
    /// was done by [`Emitter::push`]; this adds the shim before them and the terminator after.
    pub fn layout(&self) -> Result<Layout<'_>, EmitError> {
        let shim = self.shim.map(|g| self.group_of(g));
        let terminator = self.terminator.map(|g| self.group_of(g));
        let code_of = |g: Option<&StencilGroup>| g.map_or(0, |g| g.code.len as u64);
        let data_of = |g: Option<&StencilGroup>| g.map_or(0, |g| g.data.len as u64);
        // The alignment a piece's data needs (checked on first use: a power of two); 1 for no
        // data, which is not placed at all.
        let align_of = |g: Option<&StencilGroup>| {
            g.filter(|g| g.data.len != 0)
                .map_or(1, |g| u64::from(g.data_align))
        };
        // `code_end` includes the shim's code.
        let code = self.code_end + code_of(terminator);
        // Data: the shim's at 0, the instructions' from the next multiple of their largest
        // alignment, the terminator's at its own alignment after them.
        let shim_data = data_of(shim);
        let instructions_data = shim_data.next_multiple_of(self.data_align);
        let mut data = instructions_data + self.data_end;
        if data_of(terminator) != 0 {
            data = data.next_multiple_of(align_of(terminator)) + data_of(terminator);
        }
        let data_align = [align_of(shim), self.data_align, align_of(terminator), 8]
            .into_iter()
            .max()
            .unwrap_or(8);
        let mut needs = self.needs.clone();
        for g in [self.shim, self.terminator].into_iter().flatten() {
            for s in self.trampolines(g) {
                needs[s as usize] = true;
            }
        }
        let trampolines_offset = code.next_multiple_of(8);
        let trampoline_symbols: Vec<u16> = (0..needs.len() as u16)
            .filter(|&s| needs[s as usize])
            .collect();
        let code_len =
            trampolines_offset + (trampoline_symbols.len() * AARCH64_TRAMPOLINE_SIZE) as u64;
        // Starts are below `code_len`, so they did not wrap when it fits in 32 bits.
        Ok(Layout {
            emitter: self,
            instruction_starts: &self.starts,
            trampolines_offset: u32::try_from(trampolines_offset)
                .map_err(|_| EmitError::TooLarge)?,
            trampoline_symbols,
            code_len: u32::try_from(code_len).map_err(|_| EmitError::TooLarge)?,
            data_len: u32::try_from(data).map_err(|_| EmitError::TooLarge)?,
            instructions_data: u32::try_from(instructions_data).map_err(|_| EmitError::TooLarge)?,
            // At most the check's 4096.
            data_align: data_align as u32,
            code_align: self.code_align,
        })
    }
}
