//! The JIT against the interpreter on random valid modules: typed random expressions over
//! every value type (arithmetic, comparisons, conversions and trapping truncations, division,
//! loads and stores at addresses near the memory's end, memory.grow, globals, locals, select,
//! if/else, br_if, br_table, direct and indirect calls whose index may miss the table or the
//! signature), run with random and extreme arguments. Both tiers must give the same results
//! bit for bit, or the same trap at the same site, and leave the same memory and globals.

use std::rc::Rc;

use proptest::prelude::*;

use patchjit_wasm::module::Module;
use patchjit_wasm::store::{CallError, Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::types::Value;

/// A value type, by its text-format name.
#[derive(Clone, Copy, PartialEq)]
enum Ty {
    I32,
    I64,
    F32,
    F64,
}

const TYPES: [Ty; 4] = [Ty::I32, Ty::I64, Ty::F32, Ty::F64];

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::I64 => "i64",
            Ty::F32 => "f32",
            Ty::F64 => "f64",
        }
    }

    /// The index of its parameter (and, plus 4, of its local) in `$f`.
    fn index(self) -> usize {
        self as usize
    }
}

/// Deterministic choices from a seed (proptest supplies and reports the seed).
struct Gen {
    state: u64,
}

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn constant(&mut self, ty: Ty) -> String {
        let interesting_i = [
            0u64,
            1,
            u64::MAX,
            0x8000_0000,
            0x7fff_ffff,
            0x8000_0000_0000_0000,
        ];
        let bits = match self.below(3) {
            0 => *self.pick(&interesting_i),
            1 => self.next(),
            _ => {
                // Small values: integers near zero, floats in quarter steps (ties for nearest).
                let small = self.below(80) as i64 - 40;
                return match ty {
                    Ty::I32 | Ty::I64 => format!("({}.const {small})", ty.name()),
                    _ => format!("({}.const {})", ty.name(), small as f64 * 0.25),
                };
            }
        };
        match ty {
            Ty::I32 => format!("(i32.const {})", bits as u32 as i32),
            Ty::I64 => format!("(i64.const {})", bits as i64),
            Ty::F32 => {
                let special = [
                    0x7fc0_0000u32,
                    0x7fa0_0001,
                    0xff80_0000,
                    0x8000_0000,
                    0x3f00_0000,
                    0x4020_0000,
                    0x4f00_0000,
                    0xcf00_0001,
                    0x4b00_0001,
                ];
                let b = if self.below(2) == 0 {
                    *self.pick(&special)
                } else {
                    bits as u32
                };
                format!("(f32.reinterpret_i32 (i32.const {}))", b as i32)
            }
            Ty::F64 => {
                let special = [
                    0x7ff8_0000_0000_0000u64,
                    0x7ff4_0000_0000_0001,
                    0xfff0_0000_0000_0000,
                    0x8000_0000_0000_0000,
                    0x3fe0_0000_0000_0000,
                    0x4004_0000_0000_0000,
                    0x43e0_0000_0000_0000,
                    0xc1e0_0000_0020_0000,
                    0x4330_0000_0000_0001,
                ];
                let b = if self.below(2) == 0 {
                    *self.pick(&special)
                } else {
                    bits
                };
                format!("(f64.reinterpret_i64 (i64.const {}))", b as i64)
            }
        }
    }

    /// An address near the memory's end (one page, growable to two) or anywhere.
    fn address(&mut self, depth: u32) -> String {
        match self.below(16) {
            0 => format!("(i32.const {})", 65536 - self.below(16) as i32),
            1 => format!(
                "(i32.and {} (i32.const 0x1ffff))",
                self.expr(Ty::I32, depth)
            ),
            2 => format!("(i32.const {})", self.below(256)),
            _ => format!("(i32.and {} (i32.const 0xfff0))", self.expr(Ty::I32, depth)),
        }
    }

    fn expr(&mut self, ty: Ty, depth: u32) -> String {
        if depth == 0 || self.below(8) == 0 {
            return match self.below(3) {
                0 => self.constant(ty),
                1 => format!("(local.get {})", ty.index()),
                _ => format!("(local.get {})", ty.index() + 4),
            };
        }
        let d = depth - 1;
        let t = ty.name();
        match self.below(24) {
            0 => format!(
                "(select {} {} {})",
                self.expr(ty, d),
                self.expr(ty, d),
                self.expr(Ty::I32, d)
            ),
            1 => format!(
                "(if (result {t}) {} (then {}) (else {}))",
                self.expr(Ty::I32, d),
                self.expr(ty, d),
                self.expr(ty, d)
            ),
            2 => format!(
                "(block (result {t}) (drop (br_if 0 {} {})) {})",
                self.expr(ty, d),
                self.expr(Ty::I32, d),
                self.expr(ty, d)
            ),
            3 => format!(
                "(block $a (result {t}) (drop (block $b (result {t}) (br_table $b $a $b {} {}))) {})",
                self.expr(ty, d),
                self.expr(Ty::I32, d),
                self.expr(ty, d)
            ),
            4 => format!("(local.tee {} {})", ty.index() + 4, self.expr(ty, d)),
            // A branch without a value that drops an operand of any type.
            10 => {
                let dropped = *self.pick(&TYPES);
                format!(
                    "(block (result {t}) {} (block {} (br_if 0 {}) (drop)))",
                    self.expr(ty, d),
                    self.expr(dropped, d),
                    self.expr(Ty::I32, d)
                )
            }
            5 => format!("(call $id_{t} {})", self.expr(ty, d)),
            // Mostly one of the two functions of the right type (slots 2i, 2i + 1); sometimes
            // any slot: the wrong type, an empty one, or past the end.
            6 => {
                let index = if self.below(4) == 0 {
                    format!("(i32.rem_u {} (i32.const 10))", self.expr(Ty::I32, d))
                } else {
                    format!(
                        "(i32.add (i32.const {}) (i32.and {} (i32.const 1)))",
                        2 * ty.index(),
                        self.expr(Ty::I32, d)
                    )
                };
                format!("(call_indirect (type $un_{t}) {} {index})", self.expr(ty, d))
            }
            7 => {
                let load = match (ty, self.below(4)) {
                    (Ty::I32, 1) => "i32.load8_s",
                    (Ty::I32, 2) => "i32.load16_u",
                    (Ty::I64, 1) => "i64.load32_s",
                    (Ty::I64, 2) => "i64.load8_u",
                    (Ty::I64, 3) => "i64.load16_s",
                    _ => match ty {
                        Ty::I32 => "i32.load",
                        Ty::I64 => "i64.load",
                        Ty::F32 => "f32.load",
                        Ty::F64 => "f64.load",
                    },
                };
                let offset = *self.pick(&[0u32, 0, 0, 0, 0, 0, 0, 1, 3, 7, 65535, 0xffff_fff0]);
                format!("({load} offset={offset} {})", self.address(d))
            }
            8 => {
                let vt = *self.pick(&TYPES);
                let store = match (vt, self.below(3)) {
                    (Ty::I32, 1) => "i32.store8",
                    (Ty::I64, 1) => "i64.store32",
                    (Ty::I64, 2) => "i64.store16",
                    (Ty::F32, _) => "f32.store",
                    (Ty::F64, _) => "f64.store",
                    (Ty::I32, _) => "i32.store",
                    (Ty::I64, _) => "i64.store",
                };
                let offset = *self.pick(&[0u32, 0, 0, 0, 0, 2, 5, 65532]);
                format!(
                    "(block (result {t}) ({store} offset={offset} {} {}) {})",
                    self.address(d),
                    self.expr(vt, d),
                    self.expr(ty, d)
                )
            }
            9 => format!(
                "(block (result {t}) (global.set $g{} {}) (global.get $g{}))",
                ty.index(),
                self.expr(ty, d),
                ty.index()
            ),
            _ => self.operation(ty, d),
        }
    }

    /// An operation producing `ty`.
    fn operation(&mut self, ty: Ty, d: u32) -> String {
        const INT_BIN: [&str; 15] = [
            "add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl",
            "shr_s", "shr_u", "rotl", "rotr",
        ];
        const INT_UN: [&str; 3] = ["clz", "ctz", "popcnt"];
        const INT_CMP: [&str; 10] = [
            "eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u",
        ];
        const FLOAT_BIN: [&str; 7] = ["add", "sub", "mul", "div", "min", "max", "copysign"];
        const FLOAT_UN: [&str; 7] = ["abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"];
        const FLOAT_CMP: [&str; 6] = ["eq", "ne", "lt", "gt", "le", "ge"];
        const SIGNS: [&str; 2] = ["s", "u"];
        let t = ty.name();
        let int = matches!(ty, Ty::I32 | Ty::I64);
        match (self.below(4), int) {
            (0, true) => format!(
                "({t}.{} {} {})",
                self.pick(&INT_BIN),
                self.expr(ty, d),
                self.expr(ty, d)
            ),
            // With two NaN operands the result is either one's payload (the machine's operand
            // order decides, and compilers commute): canonicalized through a scratch local.
            (0, false) => format!(
                "(select (local.tee {scratch} ({t}.{} {} {})) ({t}.const nan) ({t}.eq (local.get {scratch}) (local.get {scratch})))",
                self.pick(&FLOAT_BIN),
                self.expr(ty, d),
                self.expr(ty, d),
                scratch = ty.index() + 6,
            ),
            (1, true) => format!("({t}.{} {})", self.pick(&INT_UN), self.expr(ty, d)),
            (1, false) => format!("({t}.{} {})", self.pick(&FLOAT_UN), self.expr(ty, d)),
            // Comparisons and tests of any type, giving i32 (widened for i64).
            (2, true) => {
                let from = *self.pick(&TYPES);
                let f = from.name();
                let cmp = match from {
                    Ty::I32 | Ty::I64 if self.below(4) == 0 => {
                        format!("({f}.eqz {})", self.expr(from, d))
                    }
                    Ty::I32 | Ty::I64 => format!(
                        "({f}.{} {} {})",
                        self.pick(&INT_CMP),
                        self.expr(from, d),
                        self.expr(from, d)
                    ),
                    _ => format!(
                        "({f}.{} {} {})",
                        self.pick(&FLOAT_CMP),
                        self.expr(from, d),
                        self.expr(from, d)
                    ),
                };
                if ty == Ty::I64 {
                    format!("(i64.extend_i32_{} {cmp})", self.pick(&SIGNS))
                } else {
                    cmp
                }
            }
            // Conversions into `ty`.
            _ => {
                let s = self.pick(&SIGNS);
                let from = *self.pick(&TYPES);
                let f = from.name();
                let e = self.expr(from, d);
                match (ty, from) {
                    (Ty::I32, Ty::I32) => format!("(memory.grow (i32.and {e} (i32.const 1)))"),
                    (Ty::I32, Ty::I64) => format!("(i32.wrap_i64 {e})"),
                    (Ty::I64, Ty::I32) => format!("(i64.extend_i32_{s} {e})"),
                    (Ty::I64, Ty::I64) => format!("(i64.extend_i32_{s} (memory.size))"),
                    // Mostly a value in range (from an i32, scaled by 0.75 for fractions).
                    (Ty::I32 | Ty::I64, _) if self.below(4) != 0 => format!(
                        "({t}.trunc_{f}_{s} ({f}.mul ({f}.const 0.75) ({f}.convert_i32_s {})))",
                        self.expr(Ty::I32, d)
                    ),
                    (Ty::I32 | Ty::I64, _) => format!("({t}.trunc_{f}_{s} {e})"),
                    (Ty::F32, Ty::F64) => format!("(f32.demote_f64 {e})"),
                    (Ty::F64, Ty::F32) => format!("(f64.promote_f32 {e})"),
                    (Ty::F32, Ty::F32) => {
                        format!("(f32.reinterpret_i32 (i32.reinterpret_f32 {e}))")
                    }
                    (Ty::F64, Ty::F64) => {
                        format!("(f64.reinterpret_i64 (i64.reinterpret_f64 {e}))")
                    }
                    (_, _) => format!("({t}.convert_{f}_{s} {e})"),
                }
            }
        }
    }
}

/// A module exporting `f` (parameters i32 i64 f32 f64, four locals of the same types and two
/// float scratch locals, the
/// result of a random expression, after eight more stored to memory), with helpers, a table
/// of eight slots (one empty), a memory and a global per type.
fn module(seed: u64) -> (String, Ty) {
    let mut g = Gen { state: seed | 1 };
    let ty = *g.pick(&TYPES);
    // Eight results stored to memory (compared afterwards), then the function's own.
    let mut body = String::new();
    for k in 0..8 {
        let t = *g.pick(&TYPES);
        let e = g.expr(t, 4);
        body += &format!("({}.store (i32.const {}) {e})\n", t.name(), 1024 + 8 * k);
    }
    body += &g.expr(ty, 4);
    let mut text = String::from("(module (memory (export \"m\") 1 2) (data (i32.const 65520) \"\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10\")\n");
    for t in TYPES {
        let n = t.name();
        text += &format!(
            "(type $un_{n} (func (param {n}) (result {n})))
             (func $id_{n} (type $un_{n}) (local.get 0))
             (func $other_{n} (type $un_{n}) (select (local.get 0) {} (i32.const 0)))
             (global $g{} (export \"g{}\") (mut {n}) ({n}.const {}))\n",
            g.constant(t),
            t.index(),
            t.index(),
            g.below(100),
        );
    }
    // Two functions per type, except f64's second slot, which is empty; slots 8 and 9 are
    // past the end.
    text += "(table 8 funcref) (elem (i32.const 0) $id_i32 $other_i32 $id_i64 $other_i64 $id_f32 $other_f32 $id_f64)\n";
    text += &format!(
        "(func (export \"f\") (param i32 i64 f32 f64) (result {}) (local i32 i64 f32 f64 f32 f64)\n{body})\n)",
        ty.name()
    );
    (text, ty)
}

/// The arguments of one call: random bits, or values at the edges.
fn arguments(seed: u64) -> [Value; 4] {
    let mut g = Gen {
        state: seed.rotate_left(17) | 1,
    };
    let mut bits = || {
        if g.below(3) == 0 {
            *g.pick(&[0u64, 1, u64::MAX, 0x8000_0000, 65535, 0x7ff8_0000_0000_0000])
        } else {
            g.next()
        }
    };
    [
        Value::I32(bits() as i32),
        Value::I64(bits() as i64),
        Value::F32(bits() as u32),
        Value::F64(bits()),
    ]
}

/// What a run leaves behind: its outcome, the memory and the globals.
type Outcome = (Result<Vec<Value>, CallError>, Vec<u8>, Vec<Value>);

fn run(tier: Tier, bytes: &[u8], args: &[Value]) -> Outcome {
    let module = Rc::new(Module::decode(bytes).expect("the generator makes valid modules"));
    let mut store = Store::new(tier);
    let instance = store
        .instantiate(module, &|_, _| None)
        .expect("instantiates");
    let Some(Extern::Func(f)) = store.export(instance, "f") else {
        panic!("no export f");
    };
    let result = store.invoke(f, args);
    let Some(Extern::Memory(m)) = store.export(instance, "m") else {
        panic!("no memory");
    };
    let memory = store.memory(m).data().to_vec();
    let globals = (0..4)
        .map(|i| match store.export(instance, &format!("g{i}")) {
            Some(Extern::Global(g)) => store.global_value(g),
            _ => panic!("no global g{i}"),
        })
        .collect();
    (result, memory, globals)
}

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lexes");
    let mut module: wast::Wat = wast::parser::parse(&buf).expect("parses");
    module.encode().expect("encodes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn jit_matches_the_interpreter(seed in any::<u64>(), arg_seed in any::<u64>()) {
        let (text, _) = module(seed);
        let bytes = wat(&text);
        for k in 0..4 {
            let args = arguments(arg_seed.wrapping_add(k));
            let want = run(Tier::Interpreter, &bytes, &args);
            for &tier in &Tier::ALL[1..] {
                let got = run(tier, &bytes, &args);
                prop_assert!(got.0 == want.0, "{}: {:?} vs {:?} for\n{text}\nwith {args:?}", tier.name(), got.0, want.0);
                prop_assert!(got.1 == want.1, "{}: memory differs for\n{text}\nwith {args:?}", tier.name());
                prop_assert_eq!(&got.2, &want.2, "globals differ for\n{}\nwith {:?}", text, args);
            }
        }
    }
}

#[test]
fn the_generator_reaches_traps_and_results() {
    // The property compares something: over a fixed set of seeds, both outcomes occur.
    let (mut traps, mut values) = (0, 0);
    for seed in 1..200u64 {
        let (text, _) = module(seed);
        match run(Tier::Interpreter, &wat(&text), &arguments(seed)).0 {
            Ok(_) => values += 1,
            Err(_) => traps += 1,
        }
    }
    assert!(traps > 20 && values > 20, "{traps} traps, {values} values");
}
