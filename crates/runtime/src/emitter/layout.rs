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
    /// Code offset of each instruction.
    pub(super) instruction_starts: Vec<u32>,
    /// Offset of the trampoline area (the end of the last group's code, 8-aligned).
    pub(super) trampolines_offset: u32,
    /// Symbols that get a trampoline, in slot order.
    pub(super) trampoline_symbols: Vec<u16>,
    pub(super) code_len: u32,
    pub(super) data_len: u32,
}

impl Layout<'_> {
    /// Code offset of each instruction, e.g. to map addresses back to instructions.
    pub fn instruction_starts(&self) -> &[u32] {
        &self.instruction_starts
    }

    /// Code bytes including trampolines: what a buffer for [`Emitter::emit_into`] needs before
    /// the data.
    pub fn code_len(&self) -> u32 {
        self.code_len
    }

    /// Data bytes (each group's data starts 8-aligned).
    pub fn data_len(&self) -> u32 {
        self.data_len
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
        let shim_code = code_of(shim);
        let code = shim_code + self.code_end + code_of(terminator);
        // Each group's data starts 8-aligned: every piece but the last one with data rounds up.
        let (shim_data, terminator_data) = (data_of(shim), data_of(terminator));
        let pad = if terminator_data != 0 {
            terminator_data.next_multiple_of(8) - terminator_data
        } else if self.data_rounded != 0 {
            self.last_data_pad
        } else {
            shim_data.next_multiple_of(8) - shim_data
        };
        let data =
            shim_data.next_multiple_of(8) + self.data_rounded + terminator_data.next_multiple_of(8)
                - pad;
        let mut needs = self.needs.clone();
        for g in [self.shim, self.terminator].into_iter().flatten() {
            for s in self.trampolines(g) {
                needs[s as usize] = true;
            }
        }
        let shim_code = u32::try_from(shim_code).map_err(|_| EmitError::TooLarge)?;
        let instruction_starts = if shim_code == 0 {
            self.starts.clone()
        } else {
            let mut starts = Vec::with_capacity(self.starts.len());
            starts.extend(self.starts.iter().map(|&s| s.wrapping_add(shim_code)));
            starts
        };
        let trampolines_offset = code.next_multiple_of(8);
        let trampoline_symbols: Vec<u16> = (0..needs.len() as u16)
            .filter(|&s| needs[s as usize])
            .collect();
        let code_len =
            trampolines_offset + (trampoline_symbols.len() * AARCH64_TRAMPOLINE_SIZE) as u64;
        // Starts are below `code_len`, so they did not wrap when it fits in 32 bits.
        Ok(Layout {
            emitter: self,
            instruction_starts,
            trampolines_offset: u32::try_from(trampolines_offset)
                .map_err(|_| EmitError::TooLarge)?,
            trampoline_symbols,
            code_len: u32::try_from(code_len).map_err(|_| EmitError::TooLarge)?,
            data_len: u32::try_from(data).map_err(|_| EmitError::TooLarge)?,
        })
    }
}
