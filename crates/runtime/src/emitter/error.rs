//! Why a program could not be emitted, and where.

use std::fmt;
use std::io;

use super::{Destination, Label};
#[cfg(doc)]
use super::{Emitter, Layout, Options};
use crate::patch::PatchError;

/// Which section of a group a failing hole is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Code,
    Data,
}

/// Which of an instruction's branch destinations is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BranchKind {
    Jump,
    Error,
}

/// Where in the program an error happened: the group, and the instruction (none for the shim
/// and terminator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub group: &'static str,
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
        site: Site,
        section: Section,
        hole: u32,
        error: PatchError,
    },
    /// A hole refers to a symbol the resolver given to [`Emitter::new`] did not provide.
    UnresolvedSymbol { site: Site, symbol: &'static str },
    /// An instruction's code uses `_JIT_JUMP_TARGET`/`_JIT_ERROR_TARGET` but none was set.
    MissingDestination { site: Site, branch: BranchKind },
    /// A destination names an instruction that does not exist or a label never bound.
    BadDestination {
        site: Site,
        branch: BranchKind,
        destination: Destination,
    },
    /// The last instruction continues past the end of the program and there is no terminator.
    FallsOffEnd { site: Site },
    /// A group index that is not in the table.
    NoSuchGroup { group: u16 },
    /// An instruction index past the end of the program.
    NoSuchInstruction { index: usize, len: usize },
    /// A client-defined value index past the table's `custom_values`.
    NoSuchCustomValue { value_id: u16, declared: usize },
    /// [`Emitter::bind`] got a label another emitter made, or one already bound.
    BadLabel { label: Label, problem: LabelProblem },
    /// [`Emitter::emit_into`] got the [`Layout`] of another emitter.
    ForeignLayout,
    /// [`Emitter::emit_into`]'s buffer cannot hold the layout at `data_offset`, `data_offset` is
    /// not 8-aligned, or `base + len` wraps the address space.
    BadBuffer {
        len: usize,
        base: u64,
        data_offset: usize,
        code_len: u32,
        data_len: u32,
    },
    /// The table is inconsistent (a hole outside its stencil, an unknown symbol index...).
    BadTable { group: &'static str, reason: String },
    /// The table was built for another architecture or calling-convention family (Windows,
    /// Apple, other) than the one running.
    ForeignTable { target: &'static str },
    /// The program needs more than 4 GiB of code or data, or 2^32 instructions or labels.
    TooLarge,
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
            } => write!(
                f,
                "a {len}-byte buffer at {base:#x} with data at offset {data_offset:#x} cannot \
                 hold {code_len} code bytes and {data_len} data bytes (data must be 8-aligned, \
                 after the code, and the buffer must not wrap the address space)"
            ),
            EmitError::BadTable { group, reason } => write!(f, "stencil group {group}: {reason}"),
            EmitError::ForeignTable { target } => {
                write!(
                    f,
                    "stencil table is for {target}, which this machine cannot run"
                )
            }
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
