//! The large generated module, for compile throughput: [`FUNCS`] functions of mixed integer
//! ALU, memory and control code (nested `if`s and counted loops, calls to the first
//! [`LEAVES`], which call nothing), drawn from a fixed-seed generator so the bytes are the
//! same on every build, plus `run(n)`, which calls each function once and folds the results.
//!
//! Every program it writes terminates (loops count down from at most 4, nest at most two
//! deep, and only functions past the leaves call, only leaves, only outside loops) and never
//! traps (addresses are masked into the one page, divisors are made odd).

use wasm_encoder::{
    BlockType, CodeSection, ExportKind, ExportSection, Function, FunctionSection, InstructionSink,
    MemArg, MemArgTarget, MemorySection, MemoryType, Module, TypeSection, ValType,
};

/// Functions besides `run`.
pub const FUNCS: u32 = 2000;
/// The first functions, which call nothing (the others may call them).
pub const LEAVES: u32 = 64;
/// Byte addresses are masked with this: four-byte accesses inside the first page.
const ADDR_MASK: i32 = 0xfffc;
/// Parameters (two i32) and declared i32 locals that expressions read and statements set.
const VALUES: u32 = 6;
/// The loop counters: one local per nesting level, after [`VALUES`].
const COUNTERS: u32 = 2;

/// xorshift64*: small, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`.
    fn below(&mut self, n: u32) -> u32 {
        ((self.next() >> 32) % u64::from(n)) as u32
    }
}

/// One function body being written.
struct Body<'a> {
    rng: &'a mut Rng,
    f: Function,
    /// This function may call the leaves.
    calls: bool,
}

impl Body<'_> {
    fn sink(&mut self) -> InstructionSink<'_> {
        self.f.instructions()
    }

    /// Pushes one i32: a tree of at most `depth` levels of operators.
    fn expr(&mut self, depth: u32) {
        if depth == 0 || self.rng.below(4) == 0 {
            if self.rng.below(3) == 0 {
                let k = self.rng.next() as i32;
                self.sink().i32_const(k);
            } else {
                let local = self.rng.below(VALUES + COUNTERS);
                self.sink().local_get(local);
            }
            return;
        }
        match self.rng.below(10) {
            0..=4 => {
                self.expr(depth - 1);
                self.expr(depth - 1);
                let op = self.rng.below(16);
                let mut s = self.sink();
                match op {
                    0 => s.i32_add(),
                    1 => s.i32_sub(),
                    2 => s.i32_mul(),
                    3 => s.i32_and(),
                    4 => s.i32_or(),
                    5 => s.i32_xor(),
                    6 => s.i32_shl(),
                    7 => s.i32_shr_u(),
                    8 => s.i32_shr_s(),
                    9 => s.i32_rotl(),
                    10 => s.i32_eq(),
                    11 => s.i32_lt_s(),
                    12 => s.i32_gt_u(),
                    13 => s.i32_ne(),
                    // Odd divisors: never zero, never -1 (so no overflow either).
                    14 => s.i32_const(2).i32_or().i32_div_s(),
                    _ => s.i32_const(1).i32_or().i32_rem_u(),
                };
            }
            5 => {
                self.addr(depth - 1);
                self.sink().i32_load(mem_arg());
            }
            6 => {
                self.expr(depth - 1);
                let op = self.rng.below(4);
                let mut s = self.sink();
                match op {
                    0 => s.i32_clz(),
                    1 => s.i32_ctz(),
                    2 => s.i32_popcnt(),
                    _ => s.i32_eqz(),
                };
            }
            7 => {
                self.expr(depth - 1);
                self.expr(depth - 1);
                self.expr(depth - 1);
                self.sink().select();
            }
            8 => {
                self.expr(depth - 1);
                let k = self.rng.next() as i64 | 1;
                let shift = i64::from(self.rng.below(40));
                self.sink()
                    .i64_extend_i32_u()
                    .i64_const(k)
                    .i64_mul()
                    .i64_const(shift)
                    .i64_shr_u()
                    .i32_wrap_i64();
            }
            _ => {
                self.expr(depth - 1);
                self.sink().i32_const(0).i32_lt_s();
            }
        }
    }

    /// Pushes an address inside the first page.
    fn addr(&mut self, depth: u32) {
        self.expr(depth);
        self.sink().i32_const(ADDR_MASK).i32_and();
    }

    /// One statement at loop and `if` nesting level `nest`: past [`COUNTERS`] levels, only
    /// assignments and stores.
    fn stmt(&mut self, nest: u32) {
        let kinds = if nest < COUNTERS { 7 } else { 3 };
        match self.rng.below(kinds) {
            0 | 1 => {
                self.expr(3);
                let local = self.rng.below(VALUES);
                self.sink().local_set(local);
            }
            2 => {
                self.addr(2);
                self.expr(2);
                self.sink().i32_store(mem_arg());
            }
            3 if self.calls && nest == 0 => {
                self.expr(2);
                self.expr(2);
                let (callee, local) = (self.rng.below(LEAVES), self.rng.below(VALUES));
                self.sink().call(callee).local_set(local);
            }
            3 | 4 => {
                self.expr(2);
                self.sink().if_(BlockType::Empty);
                self.stmts(nest + 1, 3);
                self.sink().else_();
                self.stmts(nest + 1, 3);
                self.sink().end();
            }
            _ => {
                let counter = VALUES + nest;
                let trips = 1 + self.rng.below(4) as i32;
                self.sink()
                    .i32_const(trips)
                    .local_set(counter)
                    .loop_(BlockType::Empty);
                self.stmts(nest + 1, 4);
                self.sink()
                    .local_get(counter)
                    .i32_const(1)
                    .i32_sub()
                    .local_tee(counter)
                    .br_if(0)
                    .end();
            }
        }
    }

    /// One to `most` statements.
    fn stmts(&mut self, nest: u32, most: u32) {
        for _ in 0..1 + self.rng.below(most) {
            self.stmt(nest);
        }
    }
}

fn mem_arg() -> MemArg {
    MemArg {
        offset: 0,
        align: 2,
        target: MemArgTarget::Memory(0),
        ordering: None,
    }
}

/// The module's bytes.
pub fn module() -> Vec<u8> {
    let mut types = TypeSection::new();
    types
        .ty()
        .function([ValType::I32, ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I64]);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for index in 0..FUNCS {
        funcs.function(0);
        let mut body = Body {
            rng: &mut rng,
            f: Function::new([(VALUES - 2 + COUNTERS, ValType::I32)]),
            calls: index >= LEAVES,
        };
        body.stmts(0, 12);
        body.expr(3);
        body.sink().end();
        code.function(&body.f);
    }
    // run(n): acc = acc * 1000003 + f_i(n, i), for every i.
    funcs.function(1);
    let mut run = Function::new([(1, ValType::I64)]);
    for index in 0..FUNCS {
        run.instructions()
            .local_get(1)
            .i64_const(1_000_003)
            .i64_mul()
            .local_get(0)
            .i32_const(index as i32)
            .call(index)
            .i64_extend_i32_u()
            .i64_add()
            .local_set(1);
    }
    run.instructions().local_get(1).end();
    code.function(&run);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("run", ExportKind::Func, FUNCS);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&funcs)
        .section(&memories)
        .section(&exports)
        .section(&code);
    module.finish()
}
