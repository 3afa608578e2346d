//! Traps: how a call ends abnormally, with where it happened. Every tier reports the same
//! kinds, so the spec runner compares tiers by kind.

use std::fmt;

/// Why execution trapped. The messages are the spec suite's (`assert_trap` compares them as
/// prefixes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// `unreachable` ran.
    Unreachable,
    /// A load or store reached past the memory's end.
    MemoryOutOfBounds,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed `MIN / -1`, or a float truncation out of the integer's range.
    IntegerOverflow,
    /// A float truncation of NaN.
    InvalidConversion,
    /// `call_indirect` with an index past the table's end.
    UndefinedElement,
    /// `call_indirect` of a table slot no segment filled.
    UninitializedElement,
    /// `call_indirect` of a function of another signature.
    IndirectCallTypeMismatch,
    /// The call depth or value stack limit was reached (never a host stack overflow).
    CallStackExhausted,
    /// A host function failed with this message.
    Host(String),
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::IntegerDivideByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::InvalidConversion => "invalid conversion to integer",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::CallStackExhausted => "call stack exhausted",
            TrapKind::Host(message) => message,
        })
    }
}

/// The instruction that trapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapSite {
    /// The function's index in its module.
    pub func: u32,
    /// Its name (`name` section or export), if it has one.
    pub name: Option<String>,
    /// The instruction's byte offset in the module binary.
    pub offset: u32,
}

/// A trap and, when a wasm instruction caused it, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    /// What went wrong.
    pub kind: TrapKind,
    /// The trapping instruction; `None` for a trap raised outside wasm code (a host function
    /// called directly).
    pub site: Option<TrapSite>,
}

impl From<TrapKind> for Trap {
    fn from(kind: TrapKind) -> Trap {
        Trap { kind, site: None }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(site) = &self.site {
            write!(f, " in function {}", site.func)?;
            if let Some(name) = &site.name {
                write!(f, " `{name}`")?;
            }
            write!(f, " at offset {:#x}", site.offset)?;
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}
