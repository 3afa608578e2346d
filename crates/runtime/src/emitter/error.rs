//! Why a program could not be emitted, and where.

use std::fmt;
use std::io;

use super::{Destination, Label};
#[cfg(doc)]
use super::{Emitter, Layout, Options};
use crate::patch::PatchError;
use crate::stencil::{HoleValue, NarrowType, PatchKind};

/// Which section of a group a failing hole is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The group's code stencil.
    Code,
    /// The group's data stencil (GOT slots included).
    Data,
}

/// Which of an instruction's branch destinations is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    /// [`super::Instruction::jump_target`], for `_JIT_JUMP_TARGET`.
    Jump,
    /// [`super::Instruction::error_target`], for `_JIT_ERROR_TARGET`.
    Error,
}

/// Where in the program an error happened: the group, and the instruction (none for the shim
/// and terminator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The stencil group's name, as the table has it.
    pub group: &'static str,
    /// The instruction's index in the program, if the piece is an instruction.
    pub instruction: Option<usize>,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.instruction {
            Some(i) => write!(f, "instruction {i} ({})", self.group),
            None => write!(f, "group {}", self.group),
        }
    }
}

/// Why a program could not be emitted.
#[derive(Debug)]
pub enum EmitError {
    /// A hole's value did not fit its instruction (see the [`PatchError`]); `hole` is its
    /// offset in the stencil (for the trampolines, in the trampoline area).
    Patch {
        /// The group and instruction.
        site: Site,
        /// Code or data.
        section: Section,
        /// The hole's offset.
        hole: u32,
        /// What the patch function refused.
        error: PatchError,
    },
    /// An instruction's value lies outside the C type a narrow hole declares it with
    /// (`PATCHJIT_OPERAND0_S32`: `int32_t`): the template would see a truncation of it.
    ValueOutOfRange {
        /// The group and instruction.
        site: Site,
        /// Code or data.
        section: Section,
        /// The hole's offset.
        hole: u32,
        /// How the hole is written.
        patch: PatchKind,
        /// The narrow value the hole holds.
        value: HoleValue,
        /// Its declared type ([`HoleValue::narrow`]).
        declared: NarrowType,
        /// The instruction's field (signed values sign-extended to 64 bits).
        given: u64,
    },
    /// A hole refers to a symbol the resolver given to [`Emitter::new`] did not provide.
    UnresolvedSymbol {
        /// The group and instruction.
        site: Site,
        /// The symbol's name.
        symbol: &'static str,
    },
    /// An instruction's code uses `_JIT_JUMP_TARGET`/`_JIT_ERROR_TARGET` but none was set.
    MissingDestination {
        /// The group and instruction.
        site: Site,
        /// Which destination is missing.
        branch: BranchKind,
    },
    /// A destination names an instruction that does not exist or a label never bound.
    BadDestination {
        /// The group and instruction.
        site: Site,
        /// Which destination is wrong.
        branch: BranchKind,
        /// What it named.
        destination: Destination,
    },
    /// The last instruction continues past the end of the program and there is no terminator.
    FallsOffEnd {
        /// The last instruction.
        site: Site,
    },
    /// A group index that is not in the table.
    NoSuchGroup {
        /// The index given.
        group: u16,
    },
    /// An instruction index past the end of the program.
    NoSuchInstruction {
        /// The index given.
        index: usize,
        /// Instructions pushed so far.
        len: usize,
    },
    /// A client-defined value index past the table's `custom_values`.
    NoSuchCustomValue {
        /// The index a hole gives.
        value_id: u16,
        /// How many values the table declares.
        declared: usize,
    },
    /// [`Emitter::bind`] got a label another emitter made, or one already bound.
    BadLabel {
        /// The label given.
        label: Label,
        /// What is wrong with it.
        problem: LabelProblem,
    },
    /// [`Emitter::emit_into`] got the [`Layout`] of another emitter.
    ForeignLayout,
    /// [`Emitter::emit_into`]'s buffer cannot hold the layout at `data_offset`, the data's
    /// address is not a multiple of [`Layout::data_align`], `base` is not a multiple of
    /// [`Layout::code_align`], or `base + len` wraps the address space.
    BadBuffer {
        /// The buffer's length.
        len: usize,
        /// The address the buffer was to be patched for.
        base: u64,
        /// Where the data was to start in the buffer.
        data_offset: usize,
        /// [`Layout::code_len`].
        code_len: u32,
        /// [`Layout::data_len`].
        data_len: u32,
        /// [`Layout::data_align`].
        data_align: u32,
        /// [`Layout::code_align`].
        code_align: u32,
    },
    /// The table is inconsistent (a hole outside its stencil, an unknown symbol index...).
    BadTable {
        /// The group at fault.
        group: &'static str,
        /// What is inconsistent.
        reason: String,
    },
    /// The table was built for another architecture or calling-convention family (Windows,
    /// Apple, other) than the one running.
    ForeignTable {
        /// The table's target triple.
        target: &'static str,
    },
    /// The program needs more than 4 GiB of code or data, or 2^32 instructions or labels.
    TooLarge,
    /// [`Emitter::align_code`] was asked for an alignment that is not a power of two up to
    /// [`crate::emitter::MAX_CODE_ALIGN`].
    BadAlignment {
        /// The alignment asked for.
        align: u32,
    },
    /// Mapping or protecting memory failed.
    Memory(io::Error),
    /// [`Options::gdb`] was set but the crate was built without its `gdb-jit` feature.
    GdbUnavailable,
    /// [`Options::perf_map`] was set but the perf map could not be opened safely (e.g. another
    /// user planted a symlink at its path).
    PerfMap(io::Error),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Patch {
                site,
                section,
                hole,
                error,
            } => write!(f, "{site}, {section:?} stencil, hole at {hole:#x}: {error}"),
            EmitError::ValueOutOfRange {
                site,
                section,
                hole,
                patch,
                value,
                declared,
                given,
            } => {
                write!(
                    f,
                    "{site}, {section:?} stencil, hole at {hole:#x} ({}, {}): value ",
                    value.builtin_name().unwrap_or("custom"),
                    patch.func_name()
                )?;
                let (min, max) = declared.range();
                if declared.signed() {
                    write!(f, "{}", *given as i64)?;
                } else {
                    write!(f, "{given}")?;
                }
                write!(
                    f,
                    " ({given:#x}) does not fit {} [{min}, {max}]",
                    declared.c_type()
                )
            }
            EmitError::UnresolvedSymbol { site, symbol } => {
                write!(f, "{site}: symbol `{symbol}` was not given to the emitter")
            }
            EmitError::MissingDestination { site, branch } => {
                write!(f, "{site}: no {branch:?} destination set")
            }
            EmitError::BadDestination {
                site,
                branch,
                destination,
            } => {
                write!(
                    f,
                    "{site}: {branch:?} destination {destination:?} does not exist or is unbound"
                )
            }
            EmitError::FallsOffEnd { site } => {
                write!(
                    f,
                    "{site} continues past the end of the program and no terminator is set"
                )
            }
            EmitError::NoSuchGroup { group } => write!(f, "no stencil group {group} in the table"),
            EmitError::NoSuchInstruction { index, len } => {
                write!(
                    f,
                    "no instruction {index}: the program has {len} instructions"
                )
            }
            EmitError::NoSuchCustomValue { value_id, declared } => write!(
                f,
                "no client-defined hole value {value_id}: the table declares {declared}"
            ),
            EmitError::BadLabel { label, problem } => {
                let why = match problem {
                    LabelProblem::Foreign => "was made by another emitter",
                    LabelProblem::AlreadyBound => "is already bound",
                };
                write!(f, "label {} {why}", label.index)
            }
            EmitError::ForeignLayout => {
                f.write_str("the layout passed to emit_into belongs to another emitter")
            }
            EmitError::BadBuffer {
                len,
                base,
                data_offset,
                code_len,
                data_len,
                data_align,
                code_align,
            } => write!(
                f,
                "a {len}-byte buffer at {base:#x} with data at offset {data_offset:#x} cannot \
                 hold {code_len} code bytes and {data_len} data bytes (the code's address must \
                 be a multiple of {code_align}, the data's a multiple of {data_align}, after \
                 the code, and the buffer must not wrap the address space)"
            ),
            EmitError::BadTable { group, reason } => write!(f, "stencil group {group}: {reason}"),
            EmitError::ForeignTable { target } => {
                write!(
                    f,
                    "stencil table is for {target}, which this machine cannot run"
                )
            }
            EmitError::BadAlignment { align } => write!(
                f,
                "cannot align code to {align} bytes: the alignment must be a power of two up \
                 to {}",
                super::MAX_CODE_ALIGN
            ),
            EmitError::TooLarge => f.write_str(
                "program is larger than 4 GiB of code or data, or has 2^32 instructions or labels",
            ),
            EmitError::Memory(e) => write!(f, "executable memory: {e}"),
            EmitError::PerfMap(e) => e.fmt(f),
            EmitError::GdbUnavailable => f.write_str(
                "GDB registration requested, but patchjit was built without its `gdb-jit` feature",
            ),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Patch { error, .. } => Some(error),
            EmitError::Memory(e) | EmitError::PerfMap(e) => Some(e),
            _ => None,
        }
    }
}

/// Why [`Emitter::bind`] refused a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelProblem {
    /// Another emitter made it: its index means nothing here.
    Foreign,
    /// It was bound before; a label names exactly one instruction.
    AlreadyBound,
}
