//! The reference tier: an interpreter over lowered [`Code`]. Wasm calls never recurse on the
//! host stack: frames live in a vector with a fixed depth limit and values in one slot stack
//! with a fixed size limit, so exhaustion is a trap, never a host stack overflow.

use std::rc::Rc;

use crate::code::{Branch, Code, Op};
use crate::num;
use crate::store::{check_host_results, FuncKind, Store};
use crate::trap::{Trap, TrapKind, TrapSite};
use crate::types::Value;

/// Deepest call nesting before `call stack exhausted`.
pub const MAX_FRAMES: usize = 10_000;
/// Most value slots (locals and operands of all frames) before `call stack exhausted`.
pub const MAX_SLOTS: usize = 1 << 20;

/// A suspended caller.
struct Frame {
    code: Rc<Code>,
    instance: u32,
    func: u32,
    base: usize,
    pc: usize,
}

/// The running function's state plus the suspended callers.
struct Machine {
    stack: Vec<u64>,
    frames: Vec<Frame>,
    code: Rc<Code>,
    instance: u32,
    /// The running function's index in its module.
    func: u32,
    /// The stack index of local 0.
    base: usize,
    /// The next op.
    pc: usize,
    /// The store address of the instance's memory 0 (`usize::MAX` without one; validation
    /// keeps memory instructions out of such modules).
    mem: usize,
}

/// Runs the wasm function at `addr` with `args` (already checked against its type).
pub(crate) fn call(store: &mut Store, addr: u32, args: &[Value]) -> Result<Vec<Value>, Trap> {
    let results = store.func_type(addr).results.clone();
    let (instance, func, code) = match &store.funcs[addr as usize].kind {
        FuncKind::Host(f) => {
            let results = f(args)?;
            check_host_results(store.func_type(addr), &results)?;
            return Ok(results);
        }
        FuncKind::Wasm {
            instance,
            index,
            code,
        } => (*instance, *index, code.clone()),
    };
    let mut m = Machine {
        stack: args.iter().map(|a| a.to_slot()).collect(),
        frames: Vec::new(),
        code,
        instance,
        func,
        base: 0,
        pc: 0,
        mem: usize::MAX,
    };
    m.enter(store).map_err(|kind| m.trap(store, kind))?;
    m.run(store).map_err(|kind| m.trap(store, kind))?;
    Ok(results
        .iter()
        .zip(&m.stack)
        .map(|(&ty, &slot)| Value::from_slot(ty, slot))
        .collect())
}

impl Machine {
    /// Names the instruction before `pc` in the running function (its first instruction
    /// when entering it failed: `pc` is 0 then).
    fn trap(&self, store: &Store, kind: TrapKind) -> Trap {
        let module = &store.instances[self.instance as usize].module;
        let offset = self.code.offsets[self.pc.saturating_sub(1)];
        Trap {
            kind,
            site: Some(TrapSite {
                func: self.func,
                name: module.func_name(self.func).map(str::to_string),
                offset,
            }),
        }
    }

    /// Starts the function in `code` whose arguments are the top slots: zeroes its locals and
    /// reserves its whole frame, so the ops never reallocate.
    fn enter(&mut self, store: &Store) -> Result<(), TrapKind> {
        let code = &self.code;
        self.base = self.stack.len() - code.params as usize;
        let frame = code.locals as usize + code.max_height as usize;
        if self.base + frame > MAX_SLOTS {
            return Err(TrapKind::CallStackExhausted);
        }
        self.stack.reserve(frame);
        self.stack.resize(self.base + code.locals as usize, 0);
        self.pc = 0;
        self.mem = store.instances[self.instance as usize]
            .memories
            .first()
            .map_or(usize::MAX, |&a| a as usize);
        Ok(())
    }

    /// Calls the function at store address `addr` from the running one.
    fn call(&mut self, store: &mut Store, addr: u32) -> Result<(), TrapKind> {
        match &store.funcs[addr as usize].kind {
            FuncKind::Host(f) => {
                let f = f.clone();
                let ty = store.func_type(addr);
                let at = self.stack.len() - ty.params.len();
                let args: Vec<Value> = ty
                    .params
                    .iter()
                    .zip(&self.stack[at..])
                    .map(|(&t, &s)| Value::from_slot(t, s))
                    .collect();
                self.stack.truncate(at);
                let results = f(&args).map_err(|t| t.kind)?;
                check_host_results(store.func_type(addr), &results)?;
                self.stack.extend(results.iter().map(|r| r.to_slot()));
                Ok(())
            }
            FuncKind::Wasm {
                instance,
                index,
                code,
            } => {
                if self.frames.len() >= MAX_FRAMES {
                    return Err(TrapKind::CallStackExhausted);
                }
                let caller = Frame {
                    code: std::mem::replace(&mut self.code, code.clone()),
                    instance: std::mem::replace(&mut self.instance, *instance),
                    func: std::mem::replace(&mut self.func, *index),
                    base: self.base,
                    pc: self.pc,
                };
                self.frames.push(caller);
                self.enter(store)
            }
        }
    }

    /// Returns from the running function; `false` when it was the outermost.
    fn ret(&mut self, store: &Store) -> bool {
        let results = self.code.results as usize;
        let top = self.stack.len() - results;
        self.stack.copy_within(top.., self.base);
        self.stack.truncate(self.base + results);
        let Some(caller) = self.frames.pop() else {
            return false;
        };
        self.code = caller.code;
        self.instance = caller.instance;
        self.func = caller.func;
        self.base = caller.base;
        self.pc = caller.pc;
        self.mem = store.instances[self.instance as usize]
            .memories
            .first()
            .map_or(usize::MAX, |&a| a as usize);
        true
    }

    fn branch(&mut self, b: Branch) {
        let height = self.base + b.height as usize;
        let top = self.stack.len() - b.arity as usize;
        self.stack.copy_within(top.., height);
        self.stack.truncate(height + b.arity as usize);
        self.pc = b.target as usize;
    }

    fn pop(&mut self) -> u64 {
        self.stack.pop().expect("validated: operand present")
    }
    fn pop32(&mut self) -> u32 {
        self.pop() as u32
    }
    fn push(&mut self, v: u64) {
        self.stack.push(v);
    }
    fn top(&mut self) -> &mut u64 {
        self.stack.last_mut().expect("validated: operand present")
    }

    fn load<const N: usize>(&mut self, store: &Store, offset: u32) -> Result<[u8; N], TrapKind> {
        let addr = self.pop32();
        store.memories[self.mem]
            .bytes(addr, offset)
            .ok_or(TrapKind::MemoryOutOfBounds)
    }

    fn store<const N: usize>(
        &mut self,
        store: &mut Store,
        offset: u32,
        bytes: [u8; N],
    ) -> Result<(), TrapKind> {
        let addr = self.pop32();
        if store.memories[self.mem].write(addr, offset, bytes) {
            Ok(())
        } else {
            Err(TrapKind::MemoryOutOfBounds)
        }
    }

    /// Runs until the outermost function returns.
    fn run(&mut self, store: &mut Store) -> Result<(), TrapKind> {
        // Operand helpers: pop the right operand first, push the result as a slot.
        macro_rules! un32 {
            (|$a:ident| $e:expr) => {{
                let $a = self.pop32();
                let r: u32 = $e;
                self.push(r as u64);
            }};
        }
        macro_rules! un64 {
            (|$a:ident| $e:expr) => {{
                let $a = self.pop();
                let r: u64 = $e;
                self.push(r);
            }};
        }
        macro_rules! bin32 {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = self.pop32();
                let $a = self.pop32();
                let r: u32 = $e;
                self.push(r as u64);
            }};
        }
        macro_rules! bin64 {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = self.pop();
                let $a = self.pop();
                let r: u64 = $e;
                self.push(r);
            }};
        }
        // A comparison of two 64-bit slots, giving an i32.
        macro_rules! cmp64 {
            (|$a:ident, $b:ident| $e:expr) => {{
                let $b = self.pop();
                let $a = self.pop();
                let r: bool = $e;
                self.push(r as u64);
            }};
        }
        loop {
            let op = self.code.ops[self.pc];
            self.pc += 1;
            match op {
                Op::Unreachable => return Err(TrapKind::Unreachable),
                Op::Br(b) => self.branch(b),
                Op::BrIf(b) => {
                    if self.pop32() != 0 {
                        self.branch(b);
                    }
                }
                Op::BrTable { first, len } => {
                    let i = self.pop32().min(len - 1);
                    let b = self.code.br_tables[(first + i) as usize];
                    self.branch(b);
                }
                Op::If { else_target } => {
                    if self.pop32() == 0 {
                        self.pc = else_target as usize;
                    }
                }
                Op::Return => {
                    if !self.ret(store) {
                        return Ok(());
                    }
                }
                Op::Call(f) => {
                    let addr = store.instances[self.instance as usize].funcs[f as usize];
                    self.call(store, addr)?;
                }
                Op::CallIndirect(ty) => {
                    let i = self.pop32() as usize;
                    let inst = &store.instances[self.instance as usize];
                    let table = &store.tables[inst.tables[0] as usize];
                    let addr = table
                        .elems
                        .get(i)
                        .ok_or(TrapKind::UndefinedElement)?
                        .ok_or(TrapKind::UninitializedElement)?;
                    if store.funcs[addr as usize].type_id != inst.type_ids[ty as usize] {
                        return Err(TrapKind::IndirectCallTypeMismatch);
                    }
                    self.call(store, addr)?;
                }
                Op::Drop => {
                    self.pop();
                }
                Op::Select => {
                    let c = self.pop32();
                    let b = self.pop();
                    if c == 0 {
                        *self.top() = b;
                    }
                }
                Op::LocalGet(i) => {
                    let v = self.stack[self.base + i as usize];
                    self.push(v);
                }
                Op::LocalSet(i) => {
                    let v = self.pop();
                    self.stack[self.base + i as usize] = v;
                }
                Op::LocalTee(i) => {
                    let v = *self.top();
                    self.stack[self.base + i as usize] = v;
                }
                Op::GlobalGet(g) => {
                    let addr = store.instances[self.instance as usize].globals[g as usize];
                    self.push(store.globals[addr as usize].value);
                }
                Op::GlobalSet(g) => {
                    let addr = store.instances[self.instance as usize].globals[g as usize];
                    store.globals[addr as usize].value = self.pop();
                }
                Op::Const(v) => self.push(v),
                Op::MemorySize => {
                    let pages = store.memories[self.mem].pages();
                    self.push(pages as u64);
                }
                Op::MemoryGrow => {
                    let delta = self.pop32();
                    let old = store.memories[self.mem].grow(delta);
                    self.push(old.unwrap_or(u32::MAX) as u64);
                }

                Op::I32Load(o) => {
                    let b = self.load(store, o)?;
                    self.push(u32::from_le_bytes(b) as u64);
                }
                Op::I64Load(o) => {
                    let b = self.load(store, o)?;
                    self.push(u64::from_le_bytes(b));
                }
                Op::F32Load(o) => {
                    let b = self.load(store, o)?;
                    self.push(u32::from_le_bytes(b) as u64);
                }
                Op::F64Load(o) => {
                    let b = self.load(store, o)?;
                    self.push(u64::from_le_bytes(b));
                }
                Op::I32Load8S(o) => {
                    let b = self.load::<1>(store, o)?;
                    self.push(b[0] as i8 as i32 as u32 as u64);
                }
                Op::I32Load8U(o) => {
                    let b = self.load::<1>(store, o)?;
                    self.push(b[0] as u64);
                }
                Op::I32Load16S(o) => {
                    let b = self.load(store, o)?;
                    self.push(i16::from_le_bytes(b) as i32 as u32 as u64);
                }
                Op::I32Load16U(o) => {
                    let b = self.load(store, o)?;
                    self.push(u16::from_le_bytes(b) as u64);
                }
                Op::I64Load8S(o) => {
                    let b = self.load::<1>(store, o)?;
                    self.push(b[0] as i8 as i64 as u64);
                }
                Op::I64Load8U(o) => {
                    let b = self.load::<1>(store, o)?;
                    self.push(b[0] as u64);
                }
                Op::I64Load16S(o) => {
                    let b = self.load(store, o)?;
                    self.push(i16::from_le_bytes(b) as i64 as u64);
                }
                Op::I64Load16U(o) => {
                    let b = self.load(store, o)?;
                    self.push(u16::from_le_bytes(b) as u64);
                }
                Op::I64Load32S(o) => {
                    let b = self.load(store, o)?;
                    self.push(i32::from_le_bytes(b) as i64 as u64);
                }
                Op::I64Load32U(o) => {
                    let b = self.load(store, o)?;
                    self.push(u32::from_le_bytes(b) as u64);
                }
                Op::I32Store(o) | Op::F32Store(o) => {
                    let v = self.pop32();
                    self.store(store, o, v.to_le_bytes())?;
                }
                Op::I64Store(o) | Op::F64Store(o) => {
                    let v = self.pop();
                    self.store(store, o, v.to_le_bytes())?;
                }
                Op::I32Store8(o) | Op::I64Store8(o) => {
                    let v = self.pop();
                    self.store(store, o, [v as u8])?;
                }
                Op::I32Store16(o) | Op::I64Store16(o) => {
                    let v = self.pop();
                    self.store(store, o, (v as u16).to_le_bytes())?;
                }
                Op::I64Store32(o) => {
                    let v = self.pop();
                    self.store(store, o, (v as u32).to_le_bytes())?;
                }

                Op::I32Eqz => un32!(|a| (a == 0) as u32),
                Op::I32Eq => bin32!(|a, b| (a == b) as u32),
                Op::I32Ne => bin32!(|a, b| (a != b) as u32),
                Op::I32LtS => bin32!(|a, b| ((a as i32) < b as i32) as u32),
                Op::I32LtU => bin32!(|a, b| (a < b) as u32),
                Op::I32GtS => bin32!(|a, b| (a as i32 > b as i32) as u32),
                Op::I32GtU => bin32!(|a, b| (a > b) as u32),
                Op::I32LeS => bin32!(|a, b| (a as i32 <= b as i32) as u32),
                Op::I32LeU => bin32!(|a, b| (a <= b) as u32),
                Op::I32GeS => bin32!(|a, b| (a as i32 >= b as i32) as u32),
                Op::I32GeU => bin32!(|a, b| (a >= b) as u32),
                Op::I64Eqz => un64!(|a| (a == 0) as u64),
                Op::I64Eq => cmp64!(|a, b| a == b),
                Op::I64Ne => cmp64!(|a, b| a != b),
                Op::I64LtS => cmp64!(|a, b| (a as i64) < b as i64),
                Op::I64LtU => cmp64!(|a, b| a < b),
                Op::I64GtS => cmp64!(|a, b| a as i64 > b as i64),
                Op::I64GtU => cmp64!(|a, b| a > b),
                Op::I64LeS => cmp64!(|a, b| a as i64 <= b as i64),
                Op::I64LeU => cmp64!(|a, b| a <= b),
                Op::I64GeS => cmp64!(|a, b| a as i64 >= b as i64),
                Op::I64GeU => cmp64!(|a, b| a >= b),
                Op::F32Eq => bin32!(|a, b| num::f32::eq(a, b) as u32),
                Op::F32Ne => bin32!(|a, b| num::f32::ne(a, b) as u32),
                Op::F32Lt => bin32!(|a, b| num::f32::lt(a, b) as u32),
                Op::F32Gt => bin32!(|a, b| num::f32::gt(a, b) as u32),
                Op::F32Le => bin32!(|a, b| num::f32::le(a, b) as u32),
                Op::F32Ge => bin32!(|a, b| num::f32::ge(a, b) as u32),
                Op::F64Eq => cmp64!(|a, b| num::f64::eq(a, b)),
                Op::F64Ne => cmp64!(|a, b| num::f64::ne(a, b)),
                Op::F64Lt => cmp64!(|a, b| num::f64::lt(a, b)),
                Op::F64Gt => cmp64!(|a, b| num::f64::gt(a, b)),
                Op::F64Le => cmp64!(|a, b| num::f64::le(a, b)),
                Op::F64Ge => cmp64!(|a, b| num::f64::ge(a, b)),

                Op::I32Clz => un32!(|a| a.leading_zeros()),
                Op::I32Ctz => un32!(|a| a.trailing_zeros()),
                Op::I32Popcnt => un32!(|a| a.count_ones()),
                Op::I32Add => bin32!(|a, b| a.wrapping_add(b)),
                Op::I32Sub => bin32!(|a, b| a.wrapping_sub(b)),
                Op::I32Mul => bin32!(|a, b| a.wrapping_mul(b)),
                Op::I32DivS => bin32!(|a, b| num::i32::div_s(a as i32, b as i32)? as u32),
                Op::I32DivU => bin32!(|a, b| num::i32::div_u(a, b)?),
                Op::I32RemS => bin32!(|a, b| num::i32::rem_s(a as i32, b as i32)? as u32),
                Op::I32RemU => bin32!(|a, b| num::i32::rem_u(a, b)?),
                Op::I32And => bin32!(|a, b| a & b),
                Op::I32Or => bin32!(|a, b| a | b),
                Op::I32Xor => bin32!(|a, b| a ^ b),
                Op::I32Shl => bin32!(|a, b| a.wrapping_shl(b)),
                Op::I32ShrS => bin32!(|a, b| (a as i32).wrapping_shr(b) as u32),
                Op::I32ShrU => bin32!(|a, b| a.wrapping_shr(b)),
                Op::I32Rotl => bin32!(|a, b| a.rotate_left(b % 32)),
                Op::I32Rotr => bin32!(|a, b| a.rotate_right(b % 32)),
                Op::I64Clz => un64!(|a| a.leading_zeros() as u64),
                Op::I64Ctz => un64!(|a| a.trailing_zeros() as u64),
                Op::I64Popcnt => un64!(|a| a.count_ones() as u64),
                Op::I64Add => bin64!(|a, b| a.wrapping_add(b)),
                Op::I64Sub => bin64!(|a, b| a.wrapping_sub(b)),
                Op::I64Mul => bin64!(|a, b| a.wrapping_mul(b)),
                Op::I64DivS => bin64!(|a, b| num::i64::div_s(a as i64, b as i64)? as u64),
                Op::I64DivU => bin64!(|a, b| num::i64::div_u(a, b)?),
                Op::I64RemS => bin64!(|a, b| num::i64::rem_s(a as i64, b as i64)? as u64),
                Op::I64RemU => bin64!(|a, b| num::i64::rem_u(a, b)?),
                Op::I64And => bin64!(|a, b| a & b),
                Op::I64Or => bin64!(|a, b| a | b),
                Op::I64Xor => bin64!(|a, b| a ^ b),
                // Shift and rotate counts are taken modulo the width.
                Op::I64Shl => bin64!(|a, b| a.wrapping_shl(b as u32)),
                Op::I64ShrS => bin64!(|a, b| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrU => bin64!(|a, b| a.wrapping_shr(b as u32)),
                Op::I64Rotl => bin64!(|a, b| a.rotate_left((b % 64) as u32)),
                Op::I64Rotr => bin64!(|a, b| a.rotate_right((b % 64) as u32)),

                Op::F32Abs => un32!(|a| num::f32::abs(a)),
                Op::F32Neg => un32!(|a| num::f32::neg(a)),
                Op::F32Ceil => un32!(|a| num::f32::ceil(a)),
                Op::F32Floor => un32!(|a| num::f32::floor(a)),
                Op::F32Trunc => un32!(|a| num::f32::trunc(a)),
                Op::F32Nearest => un32!(|a| num::f32::nearest(a)),
                Op::F32Sqrt => un32!(|a| num::f32::sqrt(a)),
                Op::F32Add => bin32!(|a, b| num::f32::add(a, b)),
                Op::F32Sub => bin32!(|a, b| num::f32::sub(a, b)),
                Op::F32Mul => bin32!(|a, b| num::f32::mul(a, b)),
                Op::F32Div => bin32!(|a, b| num::f32::div(a, b)),
                Op::F32Min => bin32!(|a, b| num::f32::min(a, b)),
                Op::F32Max => bin32!(|a, b| num::f32::max(a, b)),
                Op::F32Copysign => bin32!(|a, b| num::f32::copysign(a, b)),
                Op::F64Abs => un64!(|a| num::f64::abs(a)),
                Op::F64Neg => un64!(|a| num::f64::neg(a)),
                Op::F64Ceil => un64!(|a| num::f64::ceil(a)),
                Op::F64Floor => un64!(|a| num::f64::floor(a)),
                Op::F64Trunc => un64!(|a| num::f64::trunc(a)),
                Op::F64Nearest => un64!(|a| num::f64::nearest(a)),
                Op::F64Sqrt => un64!(|a| num::f64::sqrt(a)),
                Op::F64Add => bin64!(|a, b| num::f64::add(a, b)),
                Op::F64Sub => bin64!(|a, b| num::f64::sub(a, b)),
                Op::F64Mul => bin64!(|a, b| num::f64::mul(a, b)),
                Op::F64Div => bin64!(|a, b| num::f64::div(a, b)),
                Op::F64Min => bin64!(|a, b| num::f64::min(a, b)),
                Op::F64Max => bin64!(|a, b| num::f64::max(a, b)),
                Op::F64Copysign => bin64!(|a, b| num::f64::copysign(a, b)),

                Op::I32WrapI64 => un64!(|a| a as u32 as u64),
                Op::I32TruncF32S => un32!(|a| num::f32::trunc_i32(a)? as u32),
                Op::I32TruncF32U => un32!(|a| num::f32::trunc_u32(a)?),
                Op::I32TruncF64S => un64!(|a| num::f64::trunc_i32(a)? as u32 as u64),
                Op::I32TruncF64U => un64!(|a| num::f64::trunc_u32(a)? as u64),
                Op::I64ExtendI32S => un64!(|a| a as u32 as i32 as i64 as u64),
                Op::I64ExtendI32U => un64!(|a| a as u32 as u64),
                Op::I64TruncF32S => un64!(|a| num::f32::trunc_i64(a as u32)? as u64),
                Op::I64TruncF32U => un64!(|a| num::f32::trunc_u64(a as u32)?),
                Op::I64TruncF64S => un64!(|a| num::f64::trunc_i64(a)? as u64),
                Op::I64TruncF64U => un64!(|a| num::f64::trunc_u64(a)?),
                // Rust's integer-to-float `as` rounds to nearest, ties to even, as 1.0 does.
                Op::F32ConvertI32S => un32!(|a| (a as i32 as f32).to_bits()),
                Op::F32ConvertI32U => un32!(|a| (a as f32).to_bits()),
                Op::F32ConvertI64S => un64!(|a| (a as i64 as f32).to_bits() as u64),
                Op::F32ConvertI64U => un64!(|a| (a as f32).to_bits() as u64),
                Op::F32DemoteF64 => un64!(|a| num::f32::quiet(f64::from_bits(a) as f32) as u64),
                Op::F64ConvertI32S => un64!(|a| (a as u32 as i32 as f64).to_bits()),
                Op::F64ConvertI32U => un64!(|a| (a as u32 as f64).to_bits()),
                Op::F64ConvertI64S => un64!(|a| (a as i64 as f64).to_bits()),
                Op::F64ConvertI64U => un64!(|a| (a as f64).to_bits()),
                Op::F64PromoteF32 => un64!(|a| num::f64::quiet(f32::from_bits(a as u32) as f64)),
                // Slots already hold the bits: reinterpretation moves nothing.
                Op::I32ReinterpretF32
                | Op::I64ReinterpretF64
                | Op::F32ReinterpretI32
                | Op::F64ReinterpretI64 => {}
            }
        }
    }
}
