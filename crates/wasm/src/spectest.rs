//! The `spectest` host module every spec-suite runner provides: print functions, one global
//! of each type, a table and a memory.

use std::rc::Rc;

use crate::store::{Extern, LinkError, Store};
use crate::types::{FuncType, Limits, ValType, Value};

/// Adds `spectest`'s entities to `store` and returns its exports by name. The print
/// functions accept their arguments and print nothing, so the runner's report stays one
/// line per file.
pub fn instantiate(store: &mut Store) -> Result<Vec<(String, Extern)>, LinkError> {
    use ValType::*;
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    let mut exports = Vec::new();
    for (name, params) in prints {
        let ty = FuncType {
            params: params.to_vec(),
            results: Vec::new(),
        };
        exports.push((
            name.to_string(),
            store.add_host_func(&ty, Rc::new(|_| Ok(Vec::new()))),
        ));
    }
    let globals = [
        ("global_i32", Value::I32(666)),
        ("global_i64", Value::I64(666)),
        ("global_f32", Value::F32(666.6f32.to_bits())),
        ("global_f64", Value::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        exports.push((name.to_string(), store.add_global(value, false)));
    }
    let table = store.add_table(Limits {
        min: 10,
        max: Some(20),
    })?;
    exports.push(("table".to_string(), table));
    let memory = store.add_memory(Limits {
        min: 1,
        max: Some(2),
    })?;
    exports.push(("memory".to_string(), memory));
    Ok(exports)
}
