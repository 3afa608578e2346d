//! The copy-and-patch tier: each instance's functions become one unit of machine code, every
//! lowered [`Op`] a copy of one stencil (`templates/*.c`, compiled by clang into the committed
//! tables under `stencils/`) patched with its immediates and destinations. Values live in one
//! slot stack as in the interpreter, with the stack pointer, frame pointer, memory and the top
//! operand in registers (`templates/wasm.h`), each stencil in the variant of its op's cache
//! state ([`crate::code::Code::heights`]); wasm calls are machine calls, bounded by the
//! interpreter's depth and slot limits, so exhaustion is a trap. Memory accesses are checked
//! explicitly against the memory's length: no signal is involved in any trap.

use std::any::Any;
use std::ffi::c_void;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use std::sync::{Arc, OnceLock};

use patchjit::{
    CodeHeap, Destination, EmitError, Emitter, ExecutableCode, Instruction, Label, Options,
    Placement,
};

use crate::code::{Branch, Op};
use crate::interp::MAX_SLOTS;
use crate::store::{check_host_results, FuncKind, Instance, MemView, Store};
use crate::trap::{Trap, TrapKind, TrapSite};
use crate::types::Value;

/// The generated table: `STENCILS` and one index constant or array per template.
mod stencils {
    include!(concat!(env!("OUT_DIR"), "/stencils.rs"));
}

/// The run state the stencils see (`WasmCtx` in `templates/wasm.h`, field for field).
#[repr(C)]
struct Ctx {
    stack_end: *mut u64,
    depth: u64,
    stack_limit: u64,
    trap_kind: u64,
    trap_site: u64,
    host: *mut Host,
}

// Offsets the compiled templates rely on.
const _: () = assert!(std::mem::offset_of!(Ctx, trap_kind) == 24);
const _: () = assert!(std::mem::offset_of!(Ctx, host) == 40);
const _: () = assert!(std::mem::offset_of!(MemView, len) == 8);

/// `WASM_TRAP_*` of `templates/wasm.h`: the trap kinds the stencils and helpers record.
const TRAP_UNREACHABLE: u64 = 1;
const TRAP_MEMORY: u64 = 2;
const TRAP_DIVIDE_BY_ZERO: u64 = 3;
const TRAP_OVERFLOW: u64 = 4;
const TRAP_INVALID_CONVERSION: u64 = 5;
const TRAP_UNDEFINED_ELEMENT: u64 = 6;
const TRAP_UNINITIALIZED_ELEMENT: u64 = 7;
const TRAP_TYPE_MISMATCH: u64 = 8;
const TRAP_EXHAUSTED: u64 = 9;
/// A host function's trap, whose kind is in [`Host::trap`].
const TRAP_HOST: u64 = 10;

/// What the helpers need from the Rust side while code runs.
struct Host {
    store: *mut Store,
    /// The trap of a host function ([`TRAP_HOST`]).
    trap: Option<TrapKind>,
    /// A host function's panic, resumed once the machine code has returned.
    panic: Option<Box<dyn Any + Send>>,
}

/// The JIT's part of a store.
#[derive(Default)]
pub(crate) struct State {
    /// Each instance's code, by instance index (`None` while an instance is being created).
    codes: Vec<Option<ExecutableCode>>,
    /// The entry address of each wasm function, by store address (0 for host functions).
    entries: Vec<usize>,
    /// The value slots of a call from the host, allocated on first use.
    stack: Vec<u64>,
    /// The view of a module without memory: empty.
    no_memory: Option<Box<MemView>>,
}

/// Calls host function `addr` with the arguments in the slots at `args`, writing its results
/// there. Returns 1 (and records the trap) when it trapped or broke its signature.
///
/// # Safety
/// `ctx` is the state [`call`] made; `args` holds the function's parameters and room for its
/// results (the caller's operand slots, reserved by `Code::max_height`).
unsafe fn call_host(ctx: &mut Ctx, addr: u32, args: *mut u64) -> u64 {
    // SAFETY: `host` points to the live `Host` of this run; the store is only reached through
    // it while the machine code runs.
    let host = unsafe { &mut *ctx.host };
    let store = unsafe { &*host.store };
    let FuncKind::Host(f) = &store.funcs[addr as usize].kind else {
        unreachable!("call_host of a wasm function");
    };
    let f = f.clone();
    let ty = store.func_type(addr).clone();
    // SAFETY: the slots are the caller's operands (see above).
    let params = unsafe { std::slice::from_raw_parts(args, ty.params.len()) };
    let values: Vec<Value> = ty
        .params
        .iter()
        .zip(params)
        .map(|(&t, &s)| Value::from_slot(t, s))
        .collect();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let results = f(&values).map_err(|t| t.kind)?;
        check_host_results(&ty, &results)?;
        Ok(results)
    }));
    match outcome {
        Ok(Ok(results)) => {
            for (i, r) in results.iter().enumerate() {
                // SAFETY: at most one result, in the first argument's slot or the slot the
                // caller reserved for it.
                unsafe { *args.add(i) = r.to_slot() };
            }
            return 0;
        }
        Ok(Err(kind)) => host.trap = Some(kind),
        Err(panic) => {
            host.panic = Some(panic);
            host.trap = Some(TrapKind::Host("host function panicked".to_string()));
        }
    }
    ctx.trap_kind = TRAP_HOST;
    1
}

/// `wasm_jit_call_host` of `templates/wasm.h`.
extern "C" fn wasm_jit_call_host(ctx: *mut Ctx, addr: u64, args: *mut u64) -> u64 {
    // SAFETY: the stencils pass the run's state and their operand slots.
    unsafe { call_host(&mut *ctx, addr as u32, args) }
}

/// `wasm_jit_indirect` of `templates/wasm.h`: resolves a `call_indirect`.
extern "C" fn wasm_jit_indirect(
    ctx: *mut Ctx,
    table_and_type: u64,
    index: u64,
    args: *mut u64,
) -> *const c_void {
    // SAFETY: as in `wasm_jit_call_host`.
    let ctx = unsafe { &mut *ctx };
    let store = unsafe { &*(*ctx.host).store };
    let table = &store.tables[(table_and_type >> 32) as usize];
    let addr = match table.elems.get(index as usize) {
        None => Err(TRAP_UNDEFINED_ELEMENT),
        Some(None) => Err(TRAP_UNINITIALIZED_ELEMENT),
        Some(Some(addr)) if store.funcs[*addr as usize].type_id != table_and_type as u32 => {
            Err(TRAP_TYPE_MISMATCH)
        }
        Some(&Some(addr)) => Ok(addr),
    };
    match addr {
        Err(kind) => ctx.trap_kind = kind,
        Ok(addr) => match store.funcs[addr as usize].kind {
            FuncKind::Wasm { .. } => return store.jit.entries[addr as usize] as *const c_void,
            // SAFETY: as in `wasm_jit_call_host`; a trap is recorded in `ctx`.
            FuncKind::Host(_) => unsafe {
                call_host(ctx, addr, args);
            },
        },
    }
    std::ptr::null()
}

/// `wasm_jit_memory_grow` of `templates/wasm.h`.
extern "C" fn wasm_jit_memory_grow(ctx: *mut Ctx, addr: u64, delta: u64) -> u64 {
    // SAFETY: as in `wasm_jit_call_host`; the stencil reloads the memory registers after.
    let store = unsafe { &mut *(*(*ctx).host).store };
    let old = store.memories[addr as usize].grow(delta as u32);
    old.unwrap_or(u32::MAX) as u64
}

/// The shim: `uint64_t _JIT_ENTRY(WasmCtx *, uint64_t *fp, uint64_t params, void *entry)`.
type Shim = extern "C" fn(*mut Ctx, *mut u64, u64, usize) -> u64;

/// Runs the function at `addr` with `args` (already checked against its type).
pub(crate) fn call(store: &mut Store, addr: u32, args: &[Value]) -> Result<Vec<Value>, Trap> {
    let results = store.func_type(addr).results.clone();
    let instance = match &store.funcs[addr as usize].kind {
        FuncKind::Host(f) => {
            let results = f(args)?;
            check_host_results(store.func_type(addr), &results)?;
            return Ok(results);
        }
        FuncKind::Wasm { instance, .. } => *instance,
    };
    let jit = &mut store.jit;
    if jit.stack.is_empty() {
        // Zeroed pages from the allocator: only the slots a run touches are ever mapped.
        jit.stack = vec![0; MAX_SLOTS];
    }
    for (slot, a) in jit.stack.iter_mut().zip(args) {
        *slot = a.to_slot();
    }
    let code = jit.codes[instance as usize]
        .as_ref()
        .expect("an instance's code exists once it runs");
    // SAFETY: the shim has this signature (`templates/shim.c`) and lives as long as the store.
    let shim: Shim = unsafe { code.entry() };
    let entry = jit.entries[addr as usize];
    let fp = jit.stack.as_mut_ptr();
    let mut host = Host {
        store,
        trap: None,
        panic: None,
    };
    let mut ctx = Ctx {
        // SAFETY: one past the end of the stack.
        stack_end: unsafe { fp.add(MAX_SLOTS) },
        depth: 0,
        stack_limit: stack_limit(),
        trap_kind: 0,
        trap_site: 0,
        host: &mut host,
    };
    // From here until the shim returns, the store is reached only through `host.store`.
    let status = shim(&mut ctx, fp, args.len() as u64, entry);
    if let Some(panic) = host.panic.take() {
        resume_unwind(panic);
    }
    // SAFETY: the machine code has returned; `host.store` is the `store` borrowed above.
    let store = unsafe { &*host.store };
    if status != 0 {
        return Err(trap(store, &ctx, host.trap.take()));
    }
    Ok(results
        .iter()
        .zip(&store.jit.stack)
        .map(|(&ty, &slot)| Value::from_slot(ty, slot))
        .collect())
}

/// Machine stack kept free below the deepest wasm call, for the helpers and host functions it
/// may call and for the trap's way out.
const STACK_RESERVE: usize = 32 << 10;

/// The lowest machine stack address a wasm call may start from on this thread: its stack's
/// low end plus [`STACK_RESERVE`], so that recursion traps with exhaustion on any thread
/// instead of overflowing (0, no limit but the call depth, if the bounds are unknown).
fn stack_limit() -> u64 {
    thread_local! {
        static LIMIT: u64 = thread_stack_low().map_or(0, |low| (low + STACK_RESERVE) as u64);
    }
    LIMIT.with(|l| *l)
}

/// The low end of this thread's stack, from the C library.
fn thread_stack_low() -> Option<usize> {
    // SAFETY: `attr` is initialized by pthread_getattr_np before it is read, and destroyed
    // once; the out-parameters are valid locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut c_void = std::ptr::null_mut();
        let mut size = 0usize;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then_some(addr as usize)
    }
}

/// The trap a run ended with: its kind and the site the `trap` stencil recorded.
fn trap(store: &Store, ctx: &Ctx, host: Option<TrapKind>) -> Trap {
    let kind = match ctx.trap_kind {
        TRAP_UNREACHABLE => TrapKind::Unreachable,
        TRAP_MEMORY => TrapKind::MemoryOutOfBounds,
        TRAP_DIVIDE_BY_ZERO => TrapKind::IntegerDivideByZero,
        TRAP_OVERFLOW => TrapKind::IntegerOverflow,
        TRAP_INVALID_CONVERSION => TrapKind::InvalidConversion,
        TRAP_UNDEFINED_ELEMENT => TrapKind::UndefinedElement,
        TRAP_UNINITIALIZED_ELEMENT => TrapKind::UninitializedElement,
        TRAP_TYPE_MISMATCH => TrapKind::IndirectCallTypeMismatch,
        TRAP_EXHAUSTED => TrapKind::CallStackExhausted,
        _ => host.unwrap_or_else(|| TrapKind::Host("unknown JIT trap".to_string())),
    };
    let addr = (ctx.trap_site >> 32) as usize;
    let site = match store.funcs.get(addr).map(|f| &f.kind) {
        Some(FuncKind::Wasm {
            instance, index, ..
        }) => Some(TrapSite {
            func: *index,
            name: store.instances[*instance as usize]
                .module
                .func_name(*index)
                .map(str::to_string),
            offset: ctx.trap_site as u32,
        }),
        _ => None,
    };
    Trap { kind, site }
}

/// `unary.c`'s OP for an operation without immediates that takes one value and cannot trap.
fn unary(op: Op) -> Option<usize> {
    use Op::*;
    Some(match op {
        I32Eqz => 0,
        I32Clz => 1,
        I32Ctz => 2,
        I32Popcnt => 3,
        I64Eqz => 4,
        I64Clz => 5,
        I64Ctz => 6,
        I64Popcnt => 7,
        F32Abs => 8,
        F32Neg => 9,
        F32Ceil => 10,
        F32Floor => 11,
        F32Trunc => 12,
        F32Nearest => 13,
        F32Sqrt => 14,
        F64Abs => 15,
        F64Neg => 16,
        F64Ceil => 17,
        F64Floor => 18,
        F64Trunc => 19,
        F64Nearest => 20,
        F64Sqrt => 21,
        I32WrapI64 => 22,
        I64ExtendI32S => 23,
        I64ExtendI32U => 24,
        F32ConvertI32S => 25,
        F32ConvertI32U => 26,
        F32ConvertI64S => 27,
        F32ConvertI64U => 28,
        F32DemoteF64 => 29,
        F64ConvertI32S => 30,
        F64ConvertI32U => 31,
        F64ConvertI64S => 32,
        F64ConvertI64U => 33,
        F64PromoteF32 => 34,
        _ => return None,
    })
}

/// `binary.c`'s OP for a two-value operation that cannot trap.
fn binary(op: Op) -> Option<usize> {
    use Op::*;
    Some(match op {
        I32Eq => 0,
        I32Ne => 1,
        I32LtS => 2,
        I32LtU => 3,
        I32GtS => 4,
        I32GtU => 5,
        I32LeS => 6,
        I32LeU => 7,
        I32GeS => 8,
        I32GeU => 9,
        I32Add => 10,
        I32Sub => 11,
        I32Mul => 12,
        I32And => 13,
        I32Or => 14,
        I32Xor => 15,
        I32Shl => 16,
        I32ShrS => 17,
        I32ShrU => 18,
        I32Rotl => 19,
        I32Rotr => 20,
        I64Eq => 21,
        I64Ne => 22,
        I64LtS => 23,
        I64LtU => 24,
        I64GtS => 25,
        I64GtU => 26,
        I64LeS => 27,
        I64LeU => 28,
        I64GeS => 29,
        I64GeU => 30,
        I64Add => 31,
        I64Sub => 32,
        I64Mul => 33,
        I64And => 34,
        I64Or => 35,
        I64Xor => 36,
        I64Shl => 37,
        I64ShrS => 38,
        I64ShrU => 39,
        I64Rotl => 40,
        I64Rotr => 41,
        F32Eq => 42,
        F32Ne => 43,
        F32Lt => 44,
        F32Gt => 45,
        F32Le => 46,
        F32Ge => 47,
        F32Add => 48,
        F32Sub => 49,
        F32Mul => 50,
        F32Div => 51,
        F32Min => 52,
        F32Max => 53,
        F32Copysign => 54,
        F64Eq => 55,
        F64Ne => 56,
        F64Lt => 57,
        F64Gt => 58,
        F64Le => 59,
        F64Ge => 60,
        F64Add => 61,
        F64Sub => 62,
        F64Mul => 63,
        F64Div => 64,
        F64Min => 65,
        F64Max => 66,
        F64Copysign => 67,
        _ => return None,
    })
}

/// `divrem.c`'s OP.
fn divrem(op: Op) -> Option<usize> {
    use Op::*;
    Some(match op {
        I32DivS => 0,
        I32DivU => 1,
        I32RemS => 2,
        I32RemU => 3,
        I64DivS => 4,
        I64DivU => 5,
        I64RemS => 6,
        I64RemU => 7,
        _ => return None,
    })
}

/// `trunc.c`'s OP.
fn trunc(op: Op) -> Option<usize> {
    use Op::*;
    Some(match op {
        I32TruncF32S => 0,
        I32TruncF32U => 1,
        I32TruncF64S => 2,
        I32TruncF64U => 3,
        I64TruncF32S => 4,
        I64TruncF32U => 5,
        I64TruncF64S => 6,
        I64TruncF64U => 7,
        _ => return None,
    })
}

/// `load.c`'s OP and the static offset of a load.
fn load(op: Op) -> Option<(usize, u32)> {
    use Op::*;
    Some(match op {
        I32Load(o) | F32Load(o) | I64Load32U(o) => (0, o),
        I64Load(o) | F64Load(o) => (1, o),
        I32Load8S(o) => (2, o),
        I32Load8U(o) | I64Load8U(o) => (3, o),
        I32Load16S(o) => (4, o),
        I32Load16U(o) | I64Load16U(o) => (5, o),
        I64Load8S(o) => (6, o),
        I64Load16S(o) => (7, o),
        I64Load32S(o) => (8, o),
        _ => return None,
    })
}

/// `store.c`'s OP and the static offset of a store.
fn store_op(op: Op) -> Option<(usize, u32)> {
    use Op::*;
    Some(match op {
        I32Store(o) | F32Store(o) | I64Store32(o) => (0, o),
        I64Store(o) | F64Store(o) => (1, o),
        I32Store8(o) | I64Store8(o) => (2, o),
        I32Store16(o) | I64Store16(o) => (3, o),
        _ => return None,
    })
}

/// The byte offset of frame slot `slot` (the templates' `SLOT`).
fn slot_bytes(slot: u32) -> u64 {
    slot as u64 * 8
}

/// One function being compiled: its trap stencils wait until its ops are emitted.
struct FuncEmitter<'e, 't> {
    emitter: &'e mut Emitter<'t>,
    /// The label of each op that a branch targets, by op index.
    targets: Vec<Option<Label>>,
    /// (label, kind or 0, site) of each trap stencil to place after the function.
    traps: Vec<(Label, u64, u64)>,
    /// Store function address << 32, the high half of every site.
    site_base: u64,
}

impl FuncEmitter<'_, '_> {
    /// A trap stencil for the op at module offset `offset`, recording `kind` (0: already
    /// recorded by the stencil or a helper).
    fn trap(&mut self, kind: u64, offset: u32) -> Result<Destination, EmitError> {
        let label = self.emitter.label()?;
        self.traps
            .push((label, kind, self.site_base | offset as u64));
        Ok(Destination::Label(label))
    }

    fn target(&mut self, op: u32) -> Destination {
        Destination::Label(self.targets[op as usize].expect("every branch target has a label"))
    }

    /// A branch stencil of `groups` (by arity, then by whether the target's top must be
    /// reloaded) to `b`, taken with `height` operands (`locals` below them).
    fn branch(
        &mut self,
        groups: [[u16; 2]; 2],
        b: Branch,
        locals: u32,
        height: u32,
    ) -> Instruction {
        // Without a value, the target's top is in memory when the branch drops operands.
        let reload = usize::from(b.height < locals + height);
        Instruction {
            operand1: slot_bytes(b.height),
            jump_target: Some(self.target(b.target)),
            ..Instruction::new(groups[b.arity as usize][reload])
        }
    }
}

/// Bytes of the process's code heap, where instances are placed without a system call each
/// (a unit that does not fit gets a mapping of its own).
const CODE_HEAP_SIZE: usize = 16 << 20;

/// The code heap shared by every store and thread; `None` where one cannot be made.
fn code_heap() -> Option<Arc<CodeHeap>> {
    static HEAP: OnceLock<Option<Arc<CodeHeap>>> = OnceLock::new();
    HEAP.get_or_init(|| CodeHeap::new(CODE_HEAP_SIZE).ok())
        .clone()
}

/// Compiles the functions `inst` (instance number `instance`) defines into one unit and
/// records their entries in the store's JIT state.
pub(crate) fn compile(store: &mut Store, inst: &Instance, instance: u32) -> Result<(), String> {
    compile_unit(store, inst, instance).map_err(|e| e.to_string())
}

fn compile_unit(store: &mut Store, inst: &Instance, instance: u32) -> Result<(), EmitError> {
    let module = &inst.module;
    let imported = inst.funcs.len() - module.bodies.len();
    let no_memory = store.jit.no_memory.get_or_insert_with(|| {
        Box::new(MemView {
            base: std::ptr::null_mut(),
            len: 0,
        })
    });
    let no_memory: *const MemView = &**no_memory;
    let view = inst
        .memories
        .first()
        .map_or(no_memory, |&m| store.memories[m as usize].view()) as u64;
    let mut emitter = Emitter::new(
        &stencils::STENCILS,
        &[
            (
                "wasm_jit_call_host",
                wasm_jit_call_host as *const () as usize,
            ),
            ("wasm_jit_indirect", wasm_jit_indirect as *const () as usize),
            (
                "wasm_jit_memory_grow",
                wasm_jit_memory_grow as *const () as usize,
            ),
        ],
    )?;
    emitter.set_shim(stencils::SHIM)?;
    // Room for every op and each function's entry at once: a large module's instruction list
    // is tens of MiB, which growing by doubling would copy again and again.
    emitter.reserve(module.bodies.iter().map(|c| c.ops.len() + 1).sum())?;
    let entry_labels = (0..module.bodies.len())
        .map(|_| emitter.label())
        .collect::<Result<Vec<_>, _>>()?;
    let mut entry_index = Vec::with_capacity(module.bodies.len());
    let arity = |f: u32| {
        let ty = &module.types[module.funcs[f as usize] as usize];
        ty.params.len() as u64 | (ty.results.len() as u64) << 16
    };
    for (i, code) in module.bodies.iter().enumerate() {
        let addr = inst.funcs[imported + i];
        let mut targets = vec![None; code.ops.len()];
        let mut mark = |t: u32, emitter: &mut Emitter<'_>| -> Result<(), EmitError> {
            if targets[t as usize].is_none() {
                targets[t as usize] = Some(emitter.label()?);
            }
            Ok(())
        };
        // Loop heads: destinations of backward branches, aligned (`Emitter::align_loop_head`).
        let mut heads = vec![false; code.ops.len()];
        for (j, op) in code.ops.iter().enumerate() {
            let mut back = |t: u32| {
                if t as usize <= j {
                    heads[t as usize] = true;
                }
            };
            match *op {
                Op::Br(b) | Op::BrIf(b) => back(b.target),
                Op::BrTable { first, len } => code.br_tables
                    [first as usize..(first + len) as usize]
                    .iter()
                    .for_each(|b| back(b.target)),
                _ => {}
            }
            match *op {
                Op::Br(b) | Op::BrIf(b) => mark(b.target, &mut emitter)?,
                Op::If { else_target } => mark(else_target, &mut emitter)?,
                Op::BrTable { first, len } => {
                    for b in &code.br_tables[first as usize..(first + len) as usize] {
                        mark(b.target, &mut emitter)?;
                    }
                }
                _ => {}
            }
        }
        let mut f = FuncEmitter {
            emitter: &mut emitter,
            targets,
            traps: Vec::new(),
            site_base: (addr as u64) << 32,
        };
        f.emitter.bind(entry_labels[i])?;
        entry_index.push(f.emitter.len());
        // Exhaustion on entry names the callee's first instruction, as the interpreter does.
        let first = code.offsets.first().copied().unwrap_or(0);
        let error = f.trap(0, first)?;
        f.emitter.push(Instruction {
            oparg: (code.locals - code.params) as u64,
            // Locals, the spare slot (`templates/wasm.h`) and the operands; a frame past the
            // value stack's end is clamped (the emitter refuses a byte count past i32).
            operand0: slot_bytes((code.locals + code.max_height + 1).min(MAX_SLOTS as u32 + 1)),
            operand1: view,
            error_target: Some(error),
            ..Instruction::new(stencils::ENTER)
        })?;
        for (j, &op) in code.ops.iter().enumerate() {
            if let Some(label) = f.targets[j] {
                if heads[j] {
                    f.emitter.align_loop_head()?;
                }
                f.emitter.bind(label)?;
            }
            let offset = code.offsets[j];
            // The cache state (`templates/wasm.h`): a push onto an empty stack, a pop that
            // empties it.
            let height = code.heights[j];
            let empty = usize::from(height == 0);
            let last = usize::from(height == 1);
            let instruction = match op {
                Op::Unreachable => Instruction {
                    error_target: Some(f.trap(TRAP_UNREACHABLE, offset)?),
                    ..Instruction::new(stencils::UNREACHABLE)
                },
                Op::Br(b) => f.branch(stencils::BR, b, code.locals, height),
                Op::BrIf(b) => {
                    let groups = [stencils::BR_IF[0][last], stencils::BR_IF[1][last]];
                    f.branch(groups, b, code.locals, height - 1)
                }
                Op::BrTable { first, len } => {
                    let entries = &code.br_tables[first as usize..(first + len) as usize];
                    let (default, cases) = entries.split_last().expect("a default entry");
                    for (k, &b) in cases.iter().enumerate() {
                        let groups = [stencils::BR_TABLE[0][1], stencils::BR_TABLE[1][1]];
                        let case = Instruction {
                            operand0: k as u64,
                            ..f.branch(groups, b, code.locals, height - 1)
                        };
                        f.emitter.push(case)?;
                    }
                    let groups = [stencils::BR_TABLE[0][0], stencils::BR_TABLE[1][0]];
                    f.branch(groups, *default, code.locals, height - 1)
                }
                Op::If { else_target } => Instruction {
                    jump_target: Some(f.target(else_target)),
                    ..Instruction::new(stencils::IF[last])
                },
                Op::Return => Instruction::new(stencils::RETURN[code.results as usize]),
                Op::Call(callee) => {
                    let error_target = Some(f.trap(0, offset)?);
                    let oparg = arity(callee);
                    let callee_addr = inst.funcs[callee as usize];
                    if callee as usize >= imported {
                        Instruction {
                            oparg,
                            operand1: view,
                            error_target,
                            jump_target: Some(Destination::Label(
                                entry_labels[callee as usize - imported],
                            )),
                            ..Instruction::new(stencils::CALL_LOCAL)
                        }
                    } else if let FuncKind::Host(_) = store.funcs[callee_addr as usize].kind {
                        Instruction {
                            oparg,
                            operand0: callee_addr as u64,
                            error_target,
                            ..Instruction::new(stencils::CALL_HOST)
                        }
                    } else {
                        Instruction {
                            oparg,
                            operand0: store.jit.entries[callee_addr as usize] as u64,
                            operand1: view,
                            error_target,
                            ..Instruction::new(stencils::CALL_FAR)
                        }
                    }
                }
                Op::CallIndirect(ty) => {
                    let t = &module.types[ty as usize];
                    Instruction {
                        oparg: t.params.len() as u64 | (t.results.len() as u64) << 16,
                        operand0: (inst.tables[0] as u64) << 32 | inst.type_ids[ty as usize] as u64,
                        operand1: view,
                        error_target: Some(f.trap(0, offset)?),
                        ..Instruction::new(stencils::CALL_INDIRECT)
                    }
                }
                Op::Drop => Instruction::new(stencils::DROP[last]),
                Op::Select => Instruction::new(stencils::SELECT),
                Op::LocalGet(i) => Instruction {
                    operand0: slot_bytes(i),
                    ..Instruction::new(stencils::LOCAL_GET[empty])
                },
                Op::LocalSet(i) => Instruction {
                    operand0: slot_bytes(i),
                    ..Instruction::new(stencils::LOCAL_SET[last])
                },
                Op::LocalTee(i) => Instruction {
                    operand0: slot_bytes(i),
                    ..Instruction::new(stencils::LOCAL_TEE)
                },
                Op::GlobalGet(g) | Op::GlobalSet(g) => {
                    let global = &store.globals[inst.globals[g as usize] as usize];
                    let group = if let Op::GlobalGet(_) = op {
                        stencils::GLOBAL_GET[empty]
                    } else {
                        stencils::GLOBAL_SET[last]
                    };
                    Instruction {
                        operand0: &global.value as *const u64 as u64,
                        ..Instruction::new(group)
                    }
                }
                Op::Const(v) => Instruction {
                    operand0: v,
                    ..Instruction::new(stencils::CONST[usize::from(v > u32::MAX as u64)][empty])
                },
                Op::MemorySize => Instruction::new(stencils::MEMORY_SIZE[empty]),
                Op::MemoryGrow => Instruction {
                    operand0: inst.memories[0] as u64,
                    operand1: view,
                    ..Instruction::new(stencils::MEMORY_GROW)
                },
                // Slots hold bits: reinterpretation emits nothing.
                Op::I32ReinterpretF32
                | Op::I64ReinterpretF64
                | Op::F32ReinterpretI32
                | Op::F64ReinterpretI64 => continue,
                _ => simple(&mut f, op, offset, height)?,
            };
            f.emitter.push(instruction)?;
        }
        for (label, kind, site) in std::mem::take(&mut f.traps) {
            f.emitter.bind(label)?;
            f.emitter.push(Instruction {
                oparg: kind,
                operand0: site,
                ..Instruction::new(stencils::TRAP)
            })?;
        }
    }
    let options = Options {
        placement: code_heap().map_or(Placement::Anywhere, Placement::Heap),
        ..Options::default()
    };
    let code = emitter.finish(&options)?;
    let jit = &mut store.jit;
    jit.entries.resize(store.funcs.len(), 0);
    for (i, &index) in entry_index.iter().enumerate() {
        let addr = inst.funcs[imported + i] as usize;
        jit.entries[addr] = code
            .instruction_start(index)
            .expect("every function has an entry instruction");
    }
    jit.codes.resize_with(instance as usize + 1, || None);
    jit.codes[instance as usize] = Some(code);
    Ok(())
}

/// The instruction of an arithmetic, conversion, load or store op.
/// `height` is the operand height before it.
fn simple(
    f: &mut FuncEmitter<'_, '_>,
    op: Op,
    offset: u32,
    height: u32,
) -> Result<Instruction, EmitError> {
    Ok(if let Some(k) = unary(op) {
        Instruction::new(stencils::UNARY[k])
    } else if let Some(k) = binary(op) {
        Instruction::new(stencils::BINARY[k])
    } else if let Some(k) = divrem(op) {
        Instruction {
            error_target: Some(f.trap(TRAP_DIVIDE_BY_ZERO, offset)?),
            // Only signed division overflows.
            jump_target: if k % 4 == 0 {
                Some(f.trap(TRAP_OVERFLOW, offset)?)
            } else {
                None
            },
            ..Instruction::new(stencils::DIVREM[k])
        }
    } else if let Some(k) = trunc(op) {
        Instruction {
            error_target: Some(f.trap(TRAP_INVALID_CONVERSION, offset)?),
            jump_target: Some(f.trap(TRAP_OVERFLOW, offset)?),
            ..Instruction::new(stencils::TRUNC[k])
        }
    } else if let Some((k, o)) = load(op) {
        Instruction {
            operand0: o as u64,
            error_target: Some(f.trap(TRAP_MEMORY, offset)?),
            ..Instruction::new(stencils::LOAD[k])
        }
    } else if let Some((k, o)) = store_op(op) {
        Instruction {
            operand0: o as u64,
            error_target: Some(f.trap(TRAP_MEMORY, offset)?),
            ..Instruction::new(stencils::STORE[k][usize::from(height == 2)])
        }
    } else {
        unreachable!("every other op is compiled by its own case: {op:?}")
    })
}
