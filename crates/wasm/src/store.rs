//! The store: every function, table, memory, global and instance that modules and the host
//! create, addressed by index, and instantiation with 1.0's linking rules. It belongs to no
//! tier: a tier only runs functions ([`Store::invoke`] hands the call to the store's
//! [`Tier`]).

use std::fmt;
use std::rc::Rc;

use crate::code::Code;
use crate::module::{ConstExpr, ImportDesc, Module};
use crate::tier::Tier;
use crate::trap::{Trap, TrapKind};
use crate::types::{ExternKind, FuncType, GlobalType, Limits, ValType, Value};

/// Bytes in a memory page.
pub const PAGE_SIZE: usize = 65536;
/// The most pages a 1.0 memory may have (4 GiB).
pub const MAX_PAGES: u32 = 65536;

/// A function the host provides: arguments in, results or a trap out.
pub type HostFunc = Rc<dyn Fn(&[Value]) -> Result<Vec<Value>, Trap>>;

/// What a function address holds.
#[derive(Clone)]
pub(crate) enum FuncKind {
    /// A function a module defines: its instance, its index in the module, its lowered body.
    Wasm {
        instance: u32,
        index: u32,
        code: Rc<Code>,
    },
    /// A function the host provides.
    Host(HostFunc),
}

/// A function in the store with its signature, interned ([`Store::type_id`]), so a
/// `call_indirect` check is one comparison even across modules.
#[derive(Clone)]
pub(crate) struct Func {
    pub(crate) type_id: u32,
    pub(crate) kind: FuncKind,
}

/// A table of function references (the only kind 1.0 has).
#[derive(Debug)]
pub(crate) struct Table {
    /// Function addresses; `None` is an uninitialized slot.
    pub(crate) elems: Vec<Option<u32>>,
    pub(crate) max: Option<u32>,
}

/// A linear memory's base and length as compiled code reads them (`MemView` in the JIT's
/// `templates/wasm.h`). Boxed in its [`Memory`], so its address stays put while the memory
/// moves or grows, and rewritten by every [`Memory::grow`].
#[repr(C)]
#[derive(Debug)]
pub(crate) struct MemView {
    pub(crate) base: *mut u8,
    pub(crate) len: u64,
}

/// A linear memory.
#[derive(Debug)]
pub struct Memory {
    /// The bytes; the length is always a whole number of pages.
    data: Vec<u8>,
    /// The declared maximum in pages.
    max: Option<u32>,
    /// `data`'s base and length, for the JIT.
    view: Box<MemView>,
}

impl Memory {
    fn new(mut data: Vec<u8>, max: Option<u32>) -> Memory {
        let view = Box::new(MemView {
            base: data.as_mut_ptr(),
            len: data.len() as u64,
        });
        Memory { data, max, view }
    }

    /// The view compiled code reads this memory through; it lives as long as the memory.
    pub(crate) fn view(&self) -> *const MemView {
        &*self.view
    }

    /// The contents, for a host to read.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The contents, for a host to write (the size changes only through [`Memory::grow`]).
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// The current size in pages.
    pub fn pages(&self) -> u32 {
        (self.data.len() / PAGE_SIZE) as u32
    }

    /// Grows by `delta` pages, returning the old size, or `None` (and no change) past the
    /// maximum or when the host cannot allocate: `memory.grow`'s -1, never an abort.
    pub fn grow(&mut self, delta: u32) -> Option<u32> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        if new > self.max.unwrap_or(MAX_PAGES).min(MAX_PAGES) {
            return None;
        }
        let bytes = new as usize * PAGE_SIZE;
        self.data.try_reserve_exact(bytes - self.data.len()).ok()?;
        self.data.resize(bytes, 0);
        *self.view = MemView {
            base: self.data.as_mut_ptr(),
            len: self.data.len() as u64,
        };
        Some(old)
    }

    /// The `N` bytes at `addr + offset` (the 33-bit effective address), if all are inside.
    pub(crate) fn bytes<const N: usize>(&self, addr: u32, offset: u32) -> Option<[u8; N]> {
        let start = addr as u64 + offset as u64;
        let start = usize::try_from(start).ok()?;
        let slice = self.data.get(start..start.checked_add(N)?)?;
        slice.try_into().ok()
    }

    /// Writes `bytes` at `addr + offset`; `false` (nothing written) if any falls outside.
    pub(crate) fn write<const N: usize>(&mut self, addr: u32, offset: u32, bytes: [u8; N]) -> bool {
        let Ok(start) = usize::try_from(addr as u64 + offset as u64) else {
            return false;
        };
        let Some(end) = start.checked_add(N) else {
            return false;
        };
        match self.data.get_mut(start..end) {
            Some(dst) => {
                dst.copy_from_slice(&bytes);
                true
            }
            None => false,
        }
    }
}

/// A global variable: its type and value as a slot ([`Value::to_slot`]).
#[derive(Debug)]
pub(crate) struct Global {
    pub(crate) ty: GlobalType,
    pub(crate) value: u64,
}

/// An entity in the store by address, as imports and exports name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function's store address.
    Func(u32),
    /// A table's store address.
    Table(u32),
    /// A memory's store address.
    Memory(u32),
    /// A global's store address.
    Global(u32),
}

/// A module instance: its module and the store addresses of its index spaces.
pub(crate) struct Instance {
    pub(crate) module: Rc<Module>,
    pub(crate) funcs: Vec<u32>,
    pub(crate) tables: Vec<u32>,
    pub(crate) memories: Vec<u32>,
    pub(crate) globals: Vec<u32>,
    /// The interned type id of each of the module's types.
    pub(crate) type_ids: Vec<u32>,
}

/// Why instantiation failed before any code ran. The messages are the spec suite's
/// (`assert_unlinkable`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// No provider has `module`.`name`.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's entity name.
        name: String,
    },
    /// `module`.`name` exists but is not what the import asks for.
    IncompatibleImport {
        /// The import's module name.
        module: String,
        /// The import's entity name.
        name: String,
        /// What was asked for and what was found.
        why: String,
    },
    /// An element segment reaches past its table's end.
    ElemSegmentDoesNotFit {
        /// The segment's index in the module.
        segment: usize,
    },
    /// A data segment reaches past its memory's end.
    DataSegmentDoesNotFit {
        /// The segment's index in the module.
        segment: usize,
    },
    /// The host could not allocate a table or memory of the declared minimum size.
    OutOfMemory {
        /// Which of the two.
        what: ExternKind,
    },
    /// The JIT tier could not compile the module (the emitter's message): an internal error,
    /// the stencil table and the compiler disagreeing, or no memory for code.
    Compile(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::UnknownImport { module, name } => {
                write!(f, "unknown import `{module}`.`{name}`")
            }
            LinkError::IncompatibleImport { module, name, why } => {
                write!(f, "incompatible import type for `{module}`.`{name}`: {why}")
            }
            LinkError::ElemSegmentDoesNotFit { segment } => {
                write!(f, "elements segment does not fit (segment {segment})")
            }
            LinkError::DataSegmentDoesNotFit { segment } => {
                write!(f, "data segment does not fit (segment {segment})")
            }
            LinkError::OutOfMemory { what } => write!(f, "out of memory allocating a {what}"),
            LinkError::Compile(why) => write!(f, "compiling for the JIT: {why}"),
        }
    }
}

/// Why instantiation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstantiateError {
    /// Imports or segments did not fit; nothing was written.
    Link(LinkError),
    /// The start function trapped; what segments wrote stays written (1.0 semantics).
    Start(Trap),
}

impl fmt::Display for InstantiateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiateError::Link(e) => write!(f, "{e}"),
            InstantiateError::Start(t) => write!(f, "start function: {t}"),
        }
    }
}

impl std::error::Error for InstantiateError {}

impl From<LinkError> for InstantiateError {
    fn from(e: LinkError) -> InstantiateError {
        InstantiateError::Link(e)
    }
}

/// Why a call from the host failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The arguments do not fit the function's parameters.
    Signature {
        /// The function's type.
        expected: FuncType,
        /// The arguments' types.
        got: Vec<ValType>,
    },
    /// The call trapped.
    Trap(Trap),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Signature { expected, got } => {
                let got: Vec<String> = got.iter().map(|t| t.to_string()).collect();
                write!(
                    f,
                    "arguments [{}] do not match the function's type {expected}",
                    got.join(" ")
                )
            }
            CallError::Trap(t) => write!(f, "{t}"),
        }
    }
}

impl std::error::Error for CallError {}

/// All runtime state, run by one tier.
pub struct Store {
    tier: Tier,
    types: Vec<FuncType>,
    pub(crate) funcs: Vec<Func>,
    pub(crate) tables: Vec<Table>,
    pub(crate) memories: Vec<Memory>,
    /// Boxed, so compiled code can address a global's slot directly (it stays put when the
    /// vector grows).
    #[allow(clippy::vec_box)]
    pub(crate) globals: Vec<Box<Global>>,
    pub(crate) instances: Vec<Instance>,
    /// The JIT tier's compiled instances and value stack (empty on other tiers).
    #[cfg(wasm_jit)]
    pub(crate) jit: crate::jit::State,
}

/// A table or memory's backing vector of `len` copies of `fill`, or `None` when the host
/// cannot allocate it (a huge declared minimum must fail instantiation, not abort).
fn try_filled<T: Clone>(len: usize, fill: T) -> Option<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, fill);
    Some(v)
}

impl Store {
    /// An empty store whose functions `tier` runs.
    pub fn new(tier: Tier) -> Store {
        Store {
            tier,
            types: Vec::new(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            instances: Vec::new(),
            #[cfg(wasm_jit)]
            jit: crate::jit::State::default(),
        }
    }

    /// The id of `ty`, equal for equal signatures whichever module declared them.
    pub(crate) fn type_id(&mut self, ty: &FuncType) -> u32 {
        match self.types.iter().position(|t| t == ty) {
            Some(i) => i as u32,
            None => {
                self.types.push(ty.clone());
                self.types.len() as u32 - 1
            }
        }
    }

    /// The signature of the function at `addr`.
    pub fn func_type(&self, addr: u32) -> &FuncType {
        &self.types[self.funcs[addr as usize].type_id as usize]
    }

    /// Adds a host function of type `ty`.
    pub fn add_host_func(&mut self, ty: &FuncType, func: HostFunc) -> Extern {
        let type_id = self.type_id(ty);
        self.funcs.push(Func {
            type_id,
            kind: FuncKind::Host(func),
        });
        Extern::Func(self.funcs.len() as u32 - 1)
    }

    /// Adds a table of `limits.min` uninitialized slots.
    pub fn add_table(&mut self, limits: Limits) -> Result<Extern, LinkError> {
        self.alloc_table(limits).map(Extern::Table)
    }

    /// Adds a zeroed memory of `limits.min` pages.
    pub fn add_memory(&mut self, limits: Limits) -> Result<Extern, LinkError> {
        self.alloc_memory(limits).map(Extern::Memory)
    }

    fn alloc_table(&mut self, limits: Limits) -> Result<u32, LinkError> {
        let elems = try_filled(limits.min as usize, None).ok_or(LinkError::OutOfMemory {
            what: ExternKind::Table,
        })?;
        self.tables.push(Table {
            elems,
            max: limits.max,
        });
        Ok(self.tables.len() as u32 - 1)
    }

    fn alloc_memory(&mut self, limits: Limits) -> Result<u32, LinkError> {
        let data =
            try_filled(limits.min as usize * PAGE_SIZE, 0u8).ok_or(LinkError::OutOfMemory {
                what: ExternKind::Memory,
            })?;
        self.memories.push(Memory::new(data, limits.max));
        Ok(self.memories.len() as u32 - 1)
    }

    /// Adds a global holding `value` (its type is `value`'s).
    pub fn add_global(&mut self, value: Value, mutable: bool) -> Extern {
        self.globals.push(Box::new(Global {
            ty: GlobalType {
                ty: value.ty(),
                mutable,
            },
            value: value.to_slot(),
        }));
        Extern::Global(self.globals.len() as u32 - 1)
    }

    /// The memory at `addr` (from [`Store::export`] or [`Store::add_memory`]).
    pub fn memory(&mut self, addr: u32) -> &mut Memory {
        &mut self.memories[addr as usize]
    }

    /// The current value of the global at `addr`.
    pub fn global_value(&self, addr: u32) -> Value {
        let g = &self.globals[addr as usize];
        Value::from_slot(g.ty.ty, g.value)
    }

    /// The export `name` of instance `instance`.
    pub fn export(&self, instance: u32, name: &str) -> Option<Extern> {
        let inst = &self.instances[instance as usize];
        let e = inst.module.exports.iter().find(|e| e.name == name)?;
        let i = e.index as usize;
        Some(match e.kind {
            ExternKind::Func => Extern::Func(inst.funcs[i]),
            ExternKind::Table => Extern::Table(inst.tables[i]),
            ExternKind::Memory => Extern::Memory(inst.memories[i]),
            ExternKind::Global => Extern::Global(inst.globals[i]),
        })
    }

    /// Checks that `ext` can stand for `import`.
    fn check_import(
        &self,
        module: &Module,
        import: &ImportDesc,
        ext: Extern,
    ) -> Result<(), String> {
        match (import, ext) {
            (ImportDesc::Func(ty), Extern::Func(addr)) => {
                let want = &module.types[*ty as usize];
                let have = self.func_type(addr);
                if want == have {
                    Ok(())
                } else {
                    Err(format!("expected function {want}, found {have}"))
                }
            }
            (ImportDesc::Table(want), Extern::Table(addr)) => {
                let t = &self.tables[addr as usize];
                limits_match(ExternKind::Table, t.elems.len() as u32, t.max, *want)
            }
            (ImportDesc::Memory(want), Extern::Memory(addr)) => {
                let m = &self.memories[addr as usize];
                limits_match(ExternKind::Memory, m.pages(), m.max, *want)
            }
            (ImportDesc::Global(want), Extern::Global(addr)) => {
                let have = self.globals[addr as usize].ty;
                if have == *want {
                    Ok(())
                } else {
                    Err(format!("expected global {want:?}, found {have:?}"))
                }
            }
            (_, ext) => Err(format!("expected {}, found {ext:?}", import_kind(import))),
        }
    }

    /// Instantiates `module`, taking each import from `resolve(module, name)`. 1.0's order:
    /// match imports, allocate, check that every segment fits, write them all, then run the
    /// start function. Returns the new instance's index.
    pub fn instantiate(
        &mut self,
        module: Rc<Module>,
        resolve: &dyn Fn(&str, &str) -> Option<Extern>,
    ) -> Result<u32, InstantiateError> {
        let instance = self.instances.len() as u32;
        let mut inst = Instance {
            module: module.clone(),
            funcs: Vec::new(),
            tables: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            type_ids: module.types.iter().map(|t| self.type_id(t)).collect(),
        };
        for import in &module.imports {
            let ext =
                resolve(&import.module, &import.name).ok_or_else(|| LinkError::UnknownImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                })?;
            self.check_import(&module, &import.desc, ext)
                .map_err(|why| LinkError::IncompatibleImport {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    why,
                })?;
            match ext {
                Extern::Func(a) => inst.funcs.push(a),
                Extern::Table(a) => inst.tables.push(a),
                Extern::Memory(a) => inst.memories.push(a),
                Extern::Global(a) => inst.globals.push(a),
            }
        }
        // A link error past this point takes back what was allocated, so no function is left
        // pointing at an instance that never came to be.
        let mark = (
            self.funcs.len(),
            self.tables.len(),
            self.memories.len(),
            self.globals.len(),
        );
        let placed = self
            .allocate(&module, &mut inst, instance)
            .and_then(|()| self.place_segments(&module, &inst));
        let placed = placed.and_then(|at| self.compile(&inst, instance).map(|()| at));
        let (elem_at, data_at) = match placed {
            Ok(at) => at,
            Err(e) => {
                self.funcs.truncate(mark.0);
                self.tables.truncate(mark.1);
                self.memories.truncate(mark.2);
                self.globals.truncate(mark.3);
                return Err(e.into());
            }
        };
        for (elem, start) in module.elems.iter().zip(elem_at) {
            let table = &mut self.tables[inst.tables[0] as usize];
            for (slot, &f) in table.elems[start..].iter_mut().zip(&elem.funcs) {
                *slot = Some(inst.funcs[f as usize]);
            }
        }
        for (data, start) in module.datas.iter().zip(data_at) {
            let memory = &mut self.memories[inst.memories[0] as usize];
            memory.data[start..start + data.bytes.len()].copy_from_slice(&data.bytes);
        }

        let start = module.start.map(|f| inst.funcs[f as usize]);
        self.instances.push(inst);
        if let Some(f) = start {
            self.invoke(f, &[]).map_err(|e| match e {
                CallError::Trap(t) => InstantiateError::Start(t),
                CallError::Signature { .. } => unreachable!("validated: start takes nothing"),
            })?;
        }
        Ok(instance)
    }

    /// Adds the functions, tables, memories and globals `module` defines to the store and to
    /// `inst` (instance number `instance`).
    fn allocate(
        &mut self,
        module: &Module,
        inst: &mut Instance,
        instance: u32,
    ) -> Result<(), LinkError> {
        let imported = inst.funcs.len();
        for (i, code) in module.bodies.iter().enumerate() {
            let index = (imported + i) as u32;
            let type_id = inst.type_ids[module.funcs[index as usize] as usize];
            self.funcs.push(Func {
                type_id,
                kind: FuncKind::Wasm {
                    instance,
                    index,
                    code: code.clone(),
                },
            });
            inst.funcs.push(self.funcs.len() as u32 - 1);
        }
        for &limits in &module.tables {
            inst.tables.push(self.alloc_table(limits)?);
        }
        for &limits in &module.memories {
            inst.memories.push(self.alloc_memory(limits)?);
        }
        for (ty, init) in &module.globals {
            let value = self.eval(inst, *init);
            self.globals.push(Box::new(Global {
                ty: *ty,
                value: value.to_slot(),
            }));
            inst.globals.push(self.globals.len() as u32 - 1);
        }
        Ok(())
    }

    /// Where each element and data segment starts, once all are known to fit: 1.0 writes
    /// none unless every one fits.
    fn place_segments(
        &self,
        module: &Module,
        inst: &Instance,
    ) -> Result<(Vec<usize>, Vec<usize>), LinkError> {
        let mut elem_at = Vec::with_capacity(module.elems.len());
        for (segment, elem) in module.elems.iter().enumerate() {
            let start = self.eval_offset(inst, elem.offset);
            let table = &self.tables[inst.tables[0] as usize];
            if start + elem.funcs.len() as u64 > table.elems.len() as u64 {
                return Err(LinkError::ElemSegmentDoesNotFit { segment });
            }
            elem_at.push(start as usize);
        }
        let mut data_at = Vec::with_capacity(module.datas.len());
        for (segment, data) in module.datas.iter().enumerate() {
            let start = self.eval_offset(inst, data.offset);
            let memory = &self.memories[inst.memories[0] as usize];
            if start + data.bytes.len() as u64 > memory.data.len() as u64 {
                return Err(LinkError::DataSegmentDoesNotFit { segment });
            }
            data_at.push(start as usize);
        }
        Ok((elem_at, data_at))
    }

    fn eval(&self, inst: &Instance, expr: ConstExpr) -> Value {
        match expr {
            ConstExpr::Value(v) => v,
            ConstExpr::GlobalGet(g) => self.global_value(inst.globals[g as usize]),
        }
    }

    /// A segment offset: an i32 constant expression, taken as unsigned.
    fn eval_offset(&self, inst: &Instance, expr: ConstExpr) -> u64 {
        match self.eval(inst, expr) {
            Value::I32(v) => v as u32 as u64,
            other => unreachable!("validated: segment offsets are i32, found {other:?}"),
        }
    }

    /// Calls the function at `addr` with `args` on the store's tier.
    pub fn invoke(&mut self, addr: u32, args: &[Value]) -> Result<Vec<Value>, CallError> {
        let ty = self.func_type(addr);
        if !ty.params.iter().copied().eq(args.iter().map(|a| a.ty())) {
            return Err(CallError::Signature {
                expected: ty.clone(),
                got: args.iter().map(|a| a.ty()).collect(),
            });
        }
        match self.tier {
            #[cfg(wasm_jit)]
            Tier::Jit => crate::jit::call(self, addr, args).map_err(CallError::Trap),
            _ => crate::interp::call(self, addr, args).map_err(CallError::Trap),
        }
    }

    /// Compiles the functions of `inst` (instance number `instance`, allocated but not yet
    /// in the store) when this store runs on the JIT.
    fn compile(&mut self, inst: &Instance, instance: u32) -> Result<(), LinkError> {
        #[cfg(wasm_jit)]
        if self.tier == Tier::Jit {
            return crate::jit::compile(self, inst, instance).map_err(LinkError::Compile);
        }
        let _ = (inst, instance);
        Ok(())
    }
}

/// A table or memory of `size` now (elements or pages) and maximum `max` against the
/// limits an import declares.
fn limits_match(what: ExternKind, size: u32, max: Option<u32>, want: Limits) -> Result<(), String> {
    let have = Limits { min: size, max };
    if have.matches(want) {
        Ok(())
    } else {
        Err(format!("{what} limits {have:?} do not match {want:?}"))
    }
}

/// A host function's results against its type: a host function that breaks its own
/// signature traps instead of corrupting a tier's stack.
pub(crate) fn check_host_results(ty: &FuncType, results: &[Value]) -> Result<(), TrapKind> {
    if results
        .iter()
        .map(|r| r.ty())
        .eq(ty.results.iter().copied())
    {
        Ok(())
    } else {
        let got: Vec<String> = results.iter().map(|r| r.to_string()).collect();
        Err(TrapKind::Host(format!(
            "host function of type {ty} returned [{}]",
            got.join(", ")
        )))
    }
}

fn import_kind(import: &ImportDesc) -> ExternKind {
    match import {
        ImportDesc::Func(_) => ExternKind::Func,
        ImportDesc::Table(_) => ExternKind::Table,
        ImportDesc::Memory(_) => ExternKind::Memory,
        ImportDesc::Global(_) => ExternKind::Global,
    }
}
