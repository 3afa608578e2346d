//! What a program is made of: instructions naming groups, their values and branch destinations.

#[cfg(doc)]
use super::Emitter;
#[cfg(doc)]
use crate::stencil::StencilTable;

/// A forward-declarable branch destination, bound to an instruction index with [`Emitter::bind`].
/// It remembers which emitter made it, so a label from another emitter is refused instead of
/// silently naming one of this emitter's labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label {
    pub(super) emitter: u32,
    pub(super) index: u32,
}

/// Where `_JIT_JUMP_TARGET` / `_JIT_ERROR_TARGET` of an instruction point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An instruction index.
    Instruction(u32),
    /// The instruction the label is bound to, which may be pushed later.
    Label(Label),
}

/// One instruction: the group to copy and the values its holes get.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Instruction {
    /// Index into [`StencilTable::groups`] (see [`Emitter::group`]).
    pub group: u16,
    /// Value of `_JIT_OPARG` holes.
    pub oparg: u64,
    /// Value of `_JIT_OPERAND0` holes (`_HI`/`_LO` take its halves).
    pub operand0: u64,
    /// Value of `_JIT_OPERAND1` holes (`_HI`/`_LO` take its halves).
    pub operand1: u64,
    /// Value of `_JIT_TARGET` holes.
    pub target: u64,
    /// Where `_JIT_JUMP_TARGET` branches; required if the group's code uses it.
    pub jump_target: Option<Destination>,
    /// Where `_JIT_ERROR_TARGET` branches; required if the group's code uses it.
    pub error_target: Option<Destination>,
}

impl Instruction {
    /// An instruction of `group` with every value zero and no destinations.
    pub const fn new(group: u16) -> Self {
        Instruction {
            group,
            oparg: 0,
            operand0: 0,
            operand1: 0,
            target: 0,
            jump_target: None,
            error_target: None,
        }
    }
}
