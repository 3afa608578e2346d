//! Bad input never panics the decoder or the lowering: every truncation and many byte
//! mutations of a module that uses every kind of control flow either decode or fail with
//! an error.

use patchjit_wasm::module::Module;

const MODULE: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (import "env" "f" (func $f (param i32) (result i32)))
  (table 2 funcref) (elem (i32.const 0) $f $g)
  (memory 1 2) (data (i32.const 8) "abc")
  (global $c (mut i64) (i64.const -1))
  (func $g (export "g") (type $t)
    (block $out (result i32)
      (loop $again
        (br_if $again (i32.eqz (local.get 0)))
        (block $inner (br_table $inner $again $inner (local.get 0))))
      (if (result i32) (local.get 0)
        (then (call_indirect (type $t) (local.get 0) (i32.const 1)))
        (else (unreachable)))))
  (func (export "m") (param i32) (result i64)
    (i64.store offset=4 (local.get 0) (global.get $c))
    (drop (memory.grow (i32.const 1)))
    (i64.load32_s align=2 (local.get 0)))
  (func $init (global.set $c (i64.const 5)))
  (start $init))"#;

#[test]
fn truncated_and_mutated_modules_are_errors_not_panics() {
    let buf = wast::parser::ParseBuffer::new(MODULE).unwrap();
    let mut wat: wast::Wat = wast::parser::parse(&buf).unwrap();
    let bytes = wat.encode().unwrap();
    Module::decode(&bytes).expect("the module is valid 1.0");
    // A prefix ending between sections can be a valid module; the rest must be errors.
    let mut decoded = 0;
    for len in 0..bytes.len() {
        decoded += Module::decode(&bytes[..len]).is_ok() as usize;
    }
    assert!(decoded < 10, "{decoded} prefixes decoded");
    decoded = 0;
    for at in 8..bytes.len() {
        for value in [
            0x00,
            0x01,
            0x0b,
            0x40,
            0x7f,
            0x80,
            0xff,
            bytes[at].wrapping_add(1),
        ] {
            let mut mutated = bytes.clone();
            mutated[at] = value;
            decoded += Module::decode(&mutated).is_ok() as usize;
        }
    }
    // Some mutations (a constant, an offset) stay valid and are lowered; most do not.
    assert!(decoded > 0);
}

/// A module whose only function is `code` (type `[] -> []`, one funcref table, one memory).
fn module_with_body(code: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    body.extend_from_slice(code);
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend_from_slice(b"\x01\x04\x01\x60\x00\x00"); // type [] -> []
    bytes.extend_from_slice(b"\x03\x02\x01\x00"); // function 0 of type 0
    bytes.extend_from_slice(b"\x04\x04\x01\x70\x00\x01"); // table 1 funcref
    bytes.extend_from_slice(b"\x05\x03\x01\x00\x01"); // memory 1
    bytes.extend_from_slice(&[0x0a, body.len() as u8 + 2, 0x01, body.len() as u8]);
    bytes.extend_from_slice(&body);
    bytes
}

#[test]
fn reserved_bytes_are_single_zero_bytes_as_in_1_0() {
    // call_indirect type 0, reserved table byte; memory.size's reserved byte.
    let ok_call = [0x41, 0x00, 0x11, 0x00, 0x00, 0x0b];
    let long_call = [0x41, 0x00, 0x11, 0x00, 0x80, 0x00, 0x0b];
    let ok_size = [0x3f, 0x00, 0x1a, 0x0b];
    let long_size = [0x3f, 0x80, 0x00, 0x1a, 0x0b];
    assert!(Module::decode(&module_with_body(&ok_call)).is_ok());
    assert!(Module::decode(&module_with_body(&ok_size)).is_ok());
    for long in [&long_call[..], &long_size[..]] {
        let e = Module::decode(&module_with_body(long)).unwrap_err();
        assert_eq!(e.message, "zero byte expected");
        assert_eq!(e.func, Some(0));
    }
}
