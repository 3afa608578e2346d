//! A decoded, validated WebAssembly 1.0 module: what instantiation needs, with every
//! function body already lowered to [`Code`]. Decoding and validation are wasmparser's, with
//! exactly the 1.0 feature set ([`WasmFeatures::WASM1`]: MVP plus mutable globals), so any
//! later feature is rejected as invalid.

use std::fmt;
use std::rc::Rc;

use wasmparser::{
    BinaryReaderError, DataKind, ElementItems, ElementKind, ExternalKind, KnownCustom, Name,
    Parser, Payload, TypeRef, ValidPayload, Validator, WasmFeatures,
};

use crate::code::{lower, Code};
use crate::types::{ExternKind, FuncType, GlobalType, Limits, ValType, Value};

/// Why a module was rejected: wasmparser's message (malformed or invalid) at a byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong (wasmparser's wording, or this crate's for the 1.0-only rules).
    pub message: String,
    /// Byte offset in the module binary.
    pub offset: u64,
    /// The function (module index) whose body is at fault, if it is one.
    pub func: Option<u32>,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(func) = self.func {
            write!(f, " in function {func}")?;
        }
        write!(f, " at offset {:#x}", self.offset)
    }
}

impl std::error::Error for DecodeError {}

impl From<BinaryReaderError> for DecodeError {
    fn from(e: BinaryReaderError) -> DecodeError {
        DecodeError {
            message: e.message().to_string(),
            offset: e.offset(),
            func: None,
        }
    }
}

fn unsupported(what: &str, offset: u64) -> DecodeError {
    DecodeError {
        message: format!("{what} is not WebAssembly 1.0"),
        offset,
        func: None,
    }
}

/// A value type of 1.0; validation with WASM1 admits no other, but a reference or vector type
/// is still refused with an error rather than a panic.
pub(crate) fn convert_valtype(
    ty: wasmparser::ValType,
    offset: u64,
) -> Result<ValType, DecodeError> {
    Ok(match ty {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 | wasmparser::ValType::Ref(_) => {
            return Err(unsupported("a vector or reference type", offset))
        }
    })
}

fn limits(min: u64, max: Option<u64>, offset: u64) -> Result<Limits, DecodeError> {
    let narrow = |v: u64| u32::try_from(v).map_err(|_| unsupported("a 64-bit limit", offset));
    Ok(Limits {
        min: narrow(min)?,
        max: max.map(narrow).transpose()?,
    })
}

fn global_type(ty: wasmparser::GlobalType, offset: u64) -> Result<GlobalType, DecodeError> {
    Ok(GlobalType {
        ty: convert_valtype(ty.content_type, offset)?,
        mutable: ty.mutable,
    })
}

/// A constant expression of 1.0: a constant or an imported global's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConstExpr {
    /// A `*.const`.
    Value(Value),
    /// `global.get` of an (imported, immutable) global by the module's global index.
    GlobalGet(u32),
}

impl ConstExpr {
    fn decode(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, DecodeError> {
        use wasmparser::Operator as O;
        let mut ops = expr.get_operators_reader();
        let (op, offset) = ops.read_with_offset()?;
        Ok(match op {
            O::I32Const { value } => ConstExpr::Value(Value::I32(value)),
            O::I64Const { value } => ConstExpr::Value(Value::I64(value)),
            O::F32Const { value } => ConstExpr::Value(Value::F32(value.bits())),
            O::F64Const { value } => ConstExpr::Value(Value::F64(value.bits())),
            O::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
            _ => return Err(unsupported("this constant expression", offset)),
        })
    }
}

/// What an import asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportDesc {
    /// A function of the module's type index.
    Func(u32),
    /// A table with at least these limits.
    Table(Limits),
    /// A memory with at least these limits.
    Memory(Limits),
    /// A global of exactly this type.
    Global(GlobalType),
}

/// One import: `module`.`name` and what it must be.
#[derive(Clone, Debug)]
pub struct Import {
    /// The module name the host or a registered instance answers to.
    pub module: String,
    /// The entity's name within it.
    pub name: String,
    /// What it must be.
    pub desc: ImportDesc,
}

/// One export: `name` and the module's index of the entity in its index space.
#[derive(Clone, Debug)]
pub struct Export {
    /// The name importers use.
    pub name: String,
    /// Which index space `index` is in.
    pub kind: ExternKind,
    /// The entity's index in the module.
    pub index: u32,
}

/// An active element segment of table 0 (1.0 has no other kind).
#[derive(Clone, Debug)]
pub(crate) struct ElemSegment {
    /// The first table slot written.
    pub(crate) offset: ConstExpr,
    /// Function indices of the module.
    pub(crate) funcs: Vec<u32>,
}

/// An active data segment of memory 0.
#[derive(Clone, Debug)]
pub(crate) struct DataSegment {
    /// The first byte written.
    pub(crate) offset: ConstExpr,
    pub(crate) bytes: Vec<u8>,
}

/// A validated module, ready to instantiate any number of times.
#[derive(Debug, Default)]
pub struct Module {
    /// The type section.
    pub(crate) types: Vec<FuncType>,
    /// Imports in index-space order.
    pub(crate) imports: Vec<Import>,
    /// The type index of every function, imported ones first.
    pub(crate) funcs: Vec<u32>,
    /// The lowered bodies of the functions the module defines (after the imported ones).
    pub(crate) bodies: Vec<Rc<Code>>,
    /// Tables the module defines.
    pub(crate) tables: Vec<Limits>,
    /// Memories the module defines.
    pub(crate) memories: Vec<Limits>,
    /// Globals the module defines, with their initializers.
    pub(crate) globals: Vec<(GlobalType, ConstExpr)>,
    pub(crate) exports: Vec<Export>,
    /// The start function's index.
    pub(crate) start: Option<u32>,
    pub(crate) elems: Vec<ElemSegment>,
    pub(crate) datas: Vec<DataSegment>,
    /// Function names from the `name` section, by function index (for messages).
    pub(crate) names: Vec<(u32, String)>,
}

impl Module {
    /// Decodes and validates a binary module, lowering each function body as it is validated.
    pub fn decode(bytes: &[u8]) -> Result<Module, DecodeError> {
        let mut validator = Validator::new_with_features(WasmFeatures::WASM1);
        let mut m = Module::default();
        // The parser decodes with every feature unless told otherwise (later encodings such as
        // compact imports would then reach the validator as if they were 1.0).
        let mut parser = Parser::new(0);
        parser.set_features(WasmFeatures::WASM1);
        for payload in parser.parse_all(bytes) {
            let payload = payload?;
            if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
                let index = func.index;
                let ty = &m.types[m.funcs[index as usize] as usize];
                let (params, result) = (ty.params.len() as u32, ty.results.first().copied());
                let mut func = func.into_validator(Default::default());
                let code = lower(&body, &mut func, params, result).map_err(|e| DecodeError {
                    func: Some(index),
                    ..e
                })?;
                m.bodies.push(Rc::new(code));
                continue;
            }
            m.section(payload)?;
        }
        Ok(m)
    }

    /// Records one validated section.
    fn section(&mut self, payload: Payload<'_>) -> Result<(), DecodeError> {
        match payload {
            Payload::TypeSection(reader) => {
                let at = reader.range().start;
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    let convert = |v: &[wasmparser::ValType]| {
                        v.iter()
                            .map(|&t| convert_valtype(t, at))
                            .collect::<Result<Vec<_>, _>>()
                    };
                    self.types.push(FuncType {
                        params: convert(ty.params())?,
                        results: convert(ty.results())?,
                    });
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    let desc = match import.ty {
                        TypeRef::Func(ty) => {
                            self.funcs.push(ty);
                            ImportDesc::Func(ty)
                        }
                        TypeRef::Table(t) => {
                            ImportDesc::Table(limits(t.initial, t.maximum, offset)?)
                        }
                        TypeRef::Memory(t) => {
                            ImportDesc::Memory(limits(t.initial, t.maximum, offset)?)
                        }
                        TypeRef::Global(g) => ImportDesc::Global(global_type(g, offset)?),
                        _ => return Err(unsupported("this import kind", offset)),
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        desc,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    self.funcs.push(ty?);
                }
            }
            Payload::TableSection(reader) => {
                let at = reader.range().start;
                for table in reader {
                    let t = table?.ty;
                    self.tables.push(limits(t.initial, t.maximum, at)?);
                }
            }
            Payload::MemorySection(reader) => {
                let at = reader.range().start;

                for memory in reader {
                    let t = memory?;
                    self.memories.push(limits(t.initial, t.maximum, at)?);
                }
            }
            Payload::GlobalSection(reader) => {
                let at = reader.range().start;
                for global in reader {
                    let g = global?;
                    self.globals
                        .push((global_type(g.ty, at)?, ConstExpr::decode(&g.init_expr)?));
                }
            }
            Payload::ExportSection(reader) => {
                let at = reader.range().start;
                for export in reader {
                    let e = export?;
                    let kind = match e.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => ExternKind::Func,
                        ExternalKind::Table => ExternKind::Table,
                        ExternalKind::Memory => ExternKind::Memory,
                        ExternalKind::Global => ExternKind::Global,
                        ExternalKind::Tag => return Err(unsupported("a tag export", at)),
                    };
                    self.exports.push(Export {
                        name: e.name.to_string(),
                        kind,
                        index: e.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    let elem = elem?;
                    let at = elem.range.start;
                    let (ElementKind::Active { offset_expr, .. }, ElementItems::Functions(funcs)) =
                        (&elem.kind, elem.items)
                    else {
                        return Err(unsupported("a passive or expression element segment", at));
                    };
                    self.elems.push(ElemSegment {
                        offset: ConstExpr::decode(offset_expr)?,
                        funcs: funcs.into_iter().collect::<Result<_, _>>()?,
                    });
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let DataKind::Active { offset_expr, .. } = &data.kind else {
                        return Err(unsupported("a passive data segment", data.range.start));
                    };
                    self.datas.push(DataSegment {
                        offset: ConstExpr::decode(offset_expr)?,
                        bytes: data.data.to_vec(),
                    });
                }
            }
            Payload::CustomSection(reader) => {
                // A custom section never makes a module invalid: a broken name section only
                // loses the names.
                if let KnownCustom::Name(names) = reader.as_known() {
                    for name in names.map_while(Result::ok) {
                        if let Name::Function(map) = name {
                            self.names.extend(
                                map.into_iter()
                                    .map_while(Result::ok)
                                    .map(|n| (n.index, n.name.to_string())),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the module imports, in order: what a host must provide to instantiate it.
    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// What the module exports.
    pub fn exports(&self) -> &[Export] {
        &self.exports
    }

    /// The function's name for a message: its `name` section entry, else its first export
    /// name.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        self.names
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, n)| n.as_str())
            .or_else(|| {
                self.exports
                    .iter()
                    .find(|e| e.kind == ExternKind::Func && e.index == index)
                    .map(|e| e.name.as_str())
            })
    }
}
