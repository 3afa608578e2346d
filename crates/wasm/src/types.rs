//! The value and entity types of WebAssembly 1.0, and values as the host sees them.

use std::fmt;

/// A WebAssembly 1.0 value type (no vectors, no references: 1.0 has neither as values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer, signed or unsigned by operation.
    I32,
    /// 64-bit integer.
    I64,
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
        })
    }
}

/// A value crossing the host boundary. Floats are their IEEE bits, so a NaN's sign and payload
/// survive every move (a Rust `f32` move may quiet a signalling NaN on some targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// An `i32`, read as signed.
    I32(i32),
    /// An `i64`, read as signed.
    I64(i64),
    /// The bits of an `f32`.
    F32(u32),
    /// The bits of an `f64`.
    F64(u64),
}

impl Value {
    /// The type of this value.
    pub fn ty(self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
        }
    }

    /// The value as one untyped 64-bit slot, the form the tiers keep on their stacks and in
    /// globals (i32 and f32 zero-extended).
    pub fn to_slot(self) -> u64 {
        match self {
            Value::I32(v) => v as u32 as u64,
            Value::I64(v) => v as u64,
            Value::F32(v) => v as u64,
            Value::F64(v) => v,
        }
    }

    /// The value of type `ty` held in `slot` (the inverse of [`Value::to_slot`]).
    pub fn from_slot(ty: ValType, slot: u64) -> Value {
        match ty {
            ValType::I32 => Value::I32(slot as u32 as i32),
            ValType::I64 => Value::I64(slot as i64),
            ValType::F32 => Value::F32(slot as u32),
            ValType::F64 => Value::F64(slot),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(b) => write!(f, "f32:{} ({b:#010x})", f32::from_bits(b)),
            Value::F64(b) => write!(f, "f64:{} ({b:#018x})", f64::from_bits(b)),
        }
    }
}

/// A function signature. 1.0 allows at most one result; the validator enforces it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Vec<ValType>,
    /// Result types (at most one).
    pub results: Vec<ValType>,
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "[{}] -> [{}]", list(&self.params), list(&self.results))
    }
}

/// Size limits of a table (in elements) or a memory (in 64 KiB pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The initial (declared) or current (actual) size.
    pub min: u32,
    /// The largest size it may grow to; `None` is the kind's own maximum.
    pub max: Option<u32>,
}

impl Limits {
    /// Whether an entity with these (actual) limits may be imported where `want` is declared:
    /// the 1.0 import-matching rule.
    pub fn matches(self, want: Limits) -> bool {
        self.min >= want.min
            && match want.max {
                None => true,
                Some(wmax) => self.max.is_some_and(|m| m <= wmax),
            }
    }
}

/// A global's type: its value type and whether `global.set` may change it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalType {
    /// The type of the value it holds.
    pub ty: ValType,
    /// Whether `global.set` may change it (1.0 allows importing and exporting mutable ones).
    pub mutable: bool,
}

/// What an import or export names: the four kinds of entity 1.0 has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table of function references.
    Table,
    /// A linear memory.
    Memory,
    /// A global variable.
    Global,
}

impl fmt::Display for ExternKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExternKind::Func => "function",
            ExternKind::Table => "table",
            ExternKind::Memory => "memory",
            ExternKind::Global => "global",
        })
    }
}
