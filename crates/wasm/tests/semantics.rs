//! Tricky 1.0 semantics through whole modules on every tier: 33-bit effective addresses,
//! rotates, memory.grow limits, call_indirect checks, trap sites and stack exhaustion.

use std::rc::Rc;

use patchjit_wasm::module::Module;
use patchjit_wasm::store::{CallError, Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::trap::TrapKind;
use patchjit_wasm::types::Value;

fn wat(text: &str) -> Vec<u8> {
    let buf = wast::parser::ParseBuffer::new(text).expect("lexes");
    let mut module: wast::Wat = wast::parser::parse(&buf).expect("parses");
    module.encode().expect("encodes")
}

/// One instance of `text` per tier, with a function to call its exports.
fn each_tier(
    text: &str,
    check: impl Fn(&mut dyn FnMut(&str, &[Value]) -> Result<Vec<Value>, CallError>),
) {
    let bytes = wat(text);
    for &tier in Tier::ALL {
        let module = Rc::new(Module::decode(&bytes).expect("valid module"));
        let mut store = Store::new(tier);
        let instance = store
            .instantiate(module, &|_, _| None)
            .expect("instantiates");
        let mut call = |name: &str, args: &[Value]| {
            let Some(Extern::Func(f)) = store.export(instance, name) else {
                panic!("no export {name}");
            };
            store.invoke(f, args)
        };
        check(&mut call);
    }
}

fn trap_kind(r: Result<Vec<Value>, CallError>) -> TrapKind {
    match r {
        Err(CallError::Trap(t)) => t.kind,
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn effective_addresses_are_33_bits_and_never_wrap() {
    each_tier(
        r#"(module (memory 1)
            (data (i32.const 65532) "\01\02\03\04")
            (func (export "far") (param i32) (result i32) (i32.load offset=4294967295 (local.get 0)))
            (func (export "last") (param i32) (result i32) (i32.load8_u offset=65535 (local.get 0)))
            (func (export "word") (param i32) (result i32) (i32.load offset=65532 (local.get 0))))"#,
        |call| {
            // 0xffffffff + 1 is 2^32, past the memory, not address 0.
            assert_eq!(
                trap_kind(call("far", &[Value::I32(1)])),
                TrapKind::MemoryOutOfBounds
            );
            assert_eq!(
                trap_kind(call("far", &[Value::I32(0)])),
                TrapKind::MemoryOutOfBounds
            );
            assert_eq!(call("last", &[Value::I32(0)]).unwrap(), [Value::I32(4)]);
            assert_eq!(
                trap_kind(call("last", &[Value::I32(1)])),
                TrapKind::MemoryOutOfBounds
            );
            assert_eq!(
                trap_kind(call("last", &[Value::I32(-1)])),
                TrapKind::MemoryOutOfBounds
            );
            assert_eq!(
                call("word", &[Value::I32(0)]).unwrap(),
                [Value::I32(0x0403_0201)]
            );
            // A 4-byte access straddling the end traps.
            assert_eq!(
                trap_kind(call("word", &[Value::I32(1)])),
                TrapKind::MemoryOutOfBounds
            );
        },
    );
}

#[test]
fn rotates_take_the_count_modulo_the_width() {
    each_tier(
        r#"(module
            (func (export "rotl") (param i32 i32) (result i32) (i32.rotl (local.get 0) (local.get 1)))
            (func (export "rotr64") (param i64 i64) (result i64) (i64.rotr (local.get 0) (local.get 1))))"#,
        |call| {
            let rotl = |call: &mut dyn FnMut(&str, &[Value]) -> _, a: u32, b: i32| {
                call("rotl", &[Value::I32(a as i32), Value::I32(b)])
            };
            assert_eq!(rotl(call, 0x8000_0001, 1).unwrap(), [Value::I32(3)]);
            assert_eq!(rotl(call, 0x8000_0001, 33).unwrap(), [Value::I32(3)]);
            assert_eq!(rotl(call, 0x0000_0001, -1).unwrap(), [Value::I32(i32::MIN)]);
            assert_eq!(
                call("rotr64", &[Value::I64(1), Value::I64(65)]).unwrap(),
                [Value::I64(i64::MIN)]
            );
        },
    );
}

#[test]
fn memory_grow_returns_the_old_size_or_minus_one_at_the_maximum() {
    each_tier(
        r#"(module (memory 1 3)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "size") (result i32) (memory.size)))"#,
        |call| {
            assert_eq!(call("grow", &[Value::I32(2)]).unwrap(), [Value::I32(1)]);
            assert_eq!(call("grow", &[Value::I32(1)]).unwrap(), [Value::I32(-1)]);
            assert_eq!(call("grow", &[Value::I32(-1)]).unwrap(), [Value::I32(-1)]);
            assert_eq!(call("size", &[]).unwrap(), [Value::I32(3)]);
        },
    );
}

#[test]
fn call_indirect_checks_bounds_initialization_and_signature() {
    each_tier(
        r#"(module
            (type $ii (func (param i32) (result i32)))
            (type $v (func))
            (table 3 funcref)
            (elem (i32.const 0) $inc $nothing)
            (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
            (func $nothing (type $v))
            (func (export "call") (param i32) (result i32)
              (call_indirect (type $ii) (i32.const 41) (local.get 0))))"#,
        |call| {
            assert_eq!(call("call", &[Value::I32(0)]).unwrap(), [Value::I32(42)]);
            assert_eq!(
                trap_kind(call("call", &[Value::I32(1)])),
                TrapKind::IndirectCallTypeMismatch
            );
            assert_eq!(
                trap_kind(call("call", &[Value::I32(2)])),
                TrapKind::UninitializedElement
            );
            assert_eq!(
                trap_kind(call("call", &[Value::I32(3)])),
                TrapKind::UndefinedElement
            );
        },
    );
}

#[test]
fn a_trap_names_the_function_and_the_instruction_offset() {
    let text = r#"(module (func $divide (export "div") (param i32 i32) (result i32)
        (i32.div_s (local.get 0) (local.get 1))))"#;
    let bytes = wat(text);
    // The code section's only i32.div_s (0x6d) follows the two local.gets (0x20 0x00 0x20 0x01).
    let at = bytes
        .windows(5)
        .position(|w| w == [0x20, 0x00, 0x20, 0x01, 0x6d])
        .expect("div_s in the binary")
        + 4;
    for &tier in Tier::ALL {
        let mut store = Store::new(tier);
        let module = Rc::new(Module::decode(&bytes).unwrap());
        let instance = store.instantiate(module, &|_, _| None).unwrap();
        let Some(Extern::Func(f)) = store.export(instance, "div") else {
            panic!()
        };
        let Err(CallError::Trap(trap)) = store.invoke(f, &[Value::I32(1), Value::I32(0)]) else {
            panic!("expected a trap");
        };
        assert_eq!(
            trap.to_string(),
            format!("integer divide by zero in function 0 `divide` at offset {at:#x}")
        );
    }
}

#[test]
fn arguments_of_the_wrong_type_are_refused_before_running() {
    each_tier(
        r#"(module (func (export "id") (param i64) (result i64) (local.get 0)))"#,
        |call| {
            assert!(matches!(
                call("id", &[Value::I32(1)]),
                Err(CallError::Signature { .. })
            ));
            assert!(matches!(call("id", &[]), Err(CallError::Signature { .. })));
            assert_eq!(call("id", &[Value::I64(-5)]).unwrap(), [Value::I64(-5)]);
        },
    );
}

#[test]
fn unbounded_recursion_is_a_trap_even_on_a_small_host_stack() {
    // `down` reaches the call depth limit first; `wide`'s 500 locals reach the value-slot
    // limit first.
    let text = format!(
        r#"(module
        (func $down (export "down") (param i32) (result i32)
          (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
        (func $wide (export "wide") (local {}) (call $wide))
        (func (export "one") (result i32) (i32.const 1)))"#,
        "i64 ".repeat(500)
    );
    // The interpreter's wasm calls never recurse on the host stack; the JIT's do, checked
    // against this thread's stack bounds. So 128 KiB (room for a debug build's compiler, whose
    // frames are several times a release build's) suffice for any depth.
    std::thread::Builder::new()
        .stack_size(128 << 10)
        .spawn(move || {
            each_tier(&text, |call| {
                assert_eq!(
                    trap_kind(call("down", &[Value::I32(0)])),
                    TrapKind::CallStackExhausted
                );
                assert_eq!(trap_kind(call("wide", &[])), TrapKind::CallStackExhausted);
                // The store stays usable after exhaustion.
                assert_eq!(call("one", &[]).unwrap(), [Value::I32(1)]);
            })
        })
        .expect("spawns")
        .join()
        .expect("no host stack overflow");
}

#[test]
fn float_bits_survive_locals_globals_and_memory() {
    each_tier(
        r#"(module (memory 1)
            (global $g (mut f32) (f32.const 0))
            (func (export "through") (param f32) (result f32) (local f32)
              (local.set 1 (local.get 0))
              (global.set $g (local.get 1))
              (f32.store (i32.const 8) (global.get $g))
              (f32.load (i32.const 8))))"#,
        |call| {
            let signalling = Value::F32(0xff80_0001);
            assert_eq!(call("through", &[signalling]).unwrap(), [signalling]);
        },
    );
}

#[test]
fn host_functions_are_called_with_their_arguments_and_checked_on_return() {
    use patchjit_wasm::types::{FuncType, ValType};
    let bytes = wat(r#"(module
        (import "host" "twice" (func $twice (param i64) (result i64)))
        (import "host" "liar" (func $liar (result i32)))
        (func (export "quad") (param i64) (result i64) (call $twice (call $twice (local.get 0))))
        (func (export "lie") (result i32) (call $liar)))"#);
    for &tier in Tier::ALL {
        let mut store = Store::new(tier);
        let twice = store.add_host_func(
            &FuncType {
                params: vec![ValType::I64],
                results: vec![ValType::I64],
            },
            Rc::new(|args| match args {
                [Value::I64(v)] => Ok(vec![Value::I64(v * 2)]),
                other => panic!("called with {other:?}"),
            }),
        );
        // Declared to return an i32, returns nothing: a trap, not a corrupt stack.
        let liar = store.add_host_func(
            &FuncType {
                params: vec![],
                results: vec![ValType::I32],
            },
            Rc::new(|_| Ok(vec![])),
        );
        let module = Rc::new(Module::decode(&bytes).unwrap());
        let instance = store
            .instantiate(module, &|_, name| match name {
                "twice" => Some(twice),
                "liar" => Some(liar),
                _ => None,
            })
            .unwrap();
        let Some(Extern::Func(quad)) = store.export(instance, "quad") else {
            panic!()
        };
        assert_eq!(
            store.invoke(quad, &[Value::I64(5)]).unwrap(),
            [Value::I64(20)]
        );
        let Some(Extern::Func(lie)) = store.export(instance, "lie") else {
            panic!()
        };
        let kind = trap_kind(store.invoke(lie, &[]));
        assert_eq!(
            kind,
            TrapKind::Host("host function of type [] -> [i32] returned []".into())
        );
    }
}

#[test]
fn the_host_reads_and_writes_an_exported_memory() {
    let bytes = wat(r#"(module (memory (export "mem") 1 2)
        (func (export "sum") (result i32) (i32.add (i32.load8_u (i32.const 0)) (i32.load8_u (i32.const 1))))
        (func (export "mark") (i32.store8 (i32.const 65535) (i32.const 7)))
        (func (export "grow") (result i32) (memory.grow (i32.const 1))))"#);
    for &tier in Tier::ALL {
        let mut store = Store::new(tier);
        let module = Rc::new(Module::decode(&bytes).unwrap());
        let instance = store.instantiate(module, &|_, _| None).unwrap();
        let func = |store: &Store, name| match store.export(instance, name) {
            Some(Extern::Func(f)) => f,
            other => panic!("{name}: {other:?}"),
        };
        let Some(Extern::Memory(mem)) = store.export(instance, "mem") else {
            panic!()
        };
        store.memory(mem).data_mut()[..2].copy_from_slice(&[40, 2]);
        assert_eq!(
            store.invoke(func(&store, "sum"), &[]).unwrap(),
            [Value::I32(42)]
        );
        store.invoke(func(&store, "mark"), &[]).unwrap();
        assert_eq!(store.memory(mem).data()[65535], 7);
        assert_eq!(
            store.invoke(func(&store, "grow"), &[]).unwrap(),
            [Value::I32(1)]
        );
        assert_eq!(
            (store.memory(mem).pages(), store.memory(mem).data().len()),
            (2, 2 << 16)
        );
    }
}

#[test]
fn a_branch_that_drops_operands_leaves_the_ones_below_intact() {
    // Branches without a value out of blocks entered above other operands, dropping what the
    // block pushed (the JIT keeps the top operand in a register: the target's top must be
    // the operand below the block, not the dropped one).
    let text = r#"(module
        (func (export "br_if") (param i32) (result i32)
          (block (result i32) (i32.const 5) (block (i32.const 6) (br_if 0 (local.get 0)) (drop))))
        (func (export "br_table") (param i32) (result i32)
          (block (result i32) (i32.const 5)
            (block (i64.const 6) (i32.const 7) (br_table 0 0 (local.get 0)))))
        (func (export "br") (param i32) (result i32)
          (i32.const 5) (block (i32.add (local.get 0) (i32.const 1)) (drop) (br 0))
          (i32.const 1) (i32.add)))"#;
    each_tier(text, |call| {
        for x in [0, 1, 3] {
            assert_eq!(call("br_if", &[Value::I32(x)]).unwrap(), [Value::I32(5)]);
            assert_eq!(call("br_table", &[Value::I32(x)]).unwrap(), [Value::I32(5)]);
            assert_eq!(call("br", &[Value::I32(x)]).unwrap(), [Value::I32(6)]);
        }
    });
}
