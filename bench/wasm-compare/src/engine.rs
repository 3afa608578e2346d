//! The engines behind one interface: compile a module to ready-to-run form, instantiate it
//! (no imports), call its `run`.
//!
//! Every engine is set up alike where the settings exist: one compiler thread (the patchjit
//! tiers are single-threaded; Wasmtime is built without its `parallel-compilation` feature,
//! Wasmer's singlepass is given one thread), eager compilation (wasmi translates lazily by
//! default), no code cache.

use std::num::NonZero;
use std::rc::Rc;

use patchjit_wasm::module::Module;
use patchjit_wasm::store::{Extern, Store};
use patchjit_wasm::tier::Tier;
use patchjit_wasm::types::Value;

/// An engine, or one patchjit-wasm tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// patchjit-wasm on one of its tiers.
    Patchjit(Tier),
    /// wasmi, the register-machine interpreter.
    Wasmi,
    /// Wasmtime's Winch: the baseline (single-pass) compiler, what patchjit's JIT aims at.
    Winch,
    /// Wasmtime's Cranelift: the optimizing compiler, the upper bound on run time.
    Cranelift,
    /// Wasmer's singlepass compiler.
    WasmerSinglepass,
}

impl Engine {
    /// Every engine, patchjit-wasm's tiers first ([`Tier::ALL`], so a new tier is benchmarked
    /// without a change here).
    pub fn all() -> Vec<Engine> {
        Tier::ALL
            .iter()
            .map(|&t| Engine::Patchjit(t))
            .chain([
                Engine::Wasmi,
                Engine::Winch,
                Engine::Cranelift,
                Engine::WasmerSinglepass,
            ])
            .collect()
    }

    /// The name in benchmark ids and tables.
    pub fn name(self) -> String {
        match self {
            Engine::Patchjit(tier) => format!("patchjit_{}", tier.name()),
            Engine::Wasmi => "wasmi".into(),
            Engine::Winch => "winch".into(),
            Engine::Cranelift => "cranelift".into(),
            Engine::WasmerSinglepass => "wasmer_singlepass".into(),
        }
    }
}

/// Each engine's long-lived compiler state, made once: what compiling a module needs beyond
/// its bytes.
pub struct Compilers {
    wasmi: wasmi::Engine,
    winch: wasmtime::Engine,
    cranelift: wasmtime::Engine,
    wasmer: wasmer::Engine,
}

impl Compilers {
    /// Configures every engine.
    pub fn new() -> Result<Compilers, String> {
        let mut wasmi_config = wasmi::Config::default();
        wasmi_config.compilation_mode(wasmi::CompilationMode::Eager);
        let wasmtime_engine = |strategy| {
            let mut config = wasmtime::Config::new();
            config.strategy(strategy);
            wasmtime::Engine::new(&config).map_err(|e| format!("wasmtime {strategy:?}: {e}"))
        };
        Ok(Compilers {
            wasmi: wasmi::Engine::new(&wasmi_config),
            winch: wasmtime_engine(wasmtime::Strategy::Winch)?,
            cranelift: wasmtime_engine(wasmtime::Strategy::Cranelift)?,
            wasmer: wasmer_engine(),
        })
    }

    /// The same compilers, with a new Wasmer engine: Wasmer's engine keeps the code of every
    /// module it compiled until the engine itself goes, so thousands of timed compiles on
    /// one run out of memory mappings. A bench makes one of these outside the timing per
    /// compile.
    pub fn renewed(&self) -> Compilers {
        Compilers {
            wasmi: self.wasmi.clone(),
            winch: self.winch.clone(),
            cranelift: self.cranelift.clone(),
            wasmer: wasmer_engine(),
        }
    }

    /// Decodes, validates and compiles `wasm` on `engine`, to where instantiating it runs no
    /// compiler. patchjit-wasm has no compile step apart from its store (a tier makes its
    /// code for the functions a store holds), so its figure includes instantiation: an
    /// upper bound on its compile time.
    pub fn compile(&self, engine: Engine, wasm: &[u8]) -> Result<Compiled, String> {
        let ctx = |e: &dyn std::fmt::Display| format!("{}: {e}", engine.name());
        Ok(match engine {
            Engine::Patchjit(tier) => {
                let module = Module::decode(wasm).map_err(|e| ctx(&e))?;
                let mut store = Store::new(tier);
                let instance = store
                    .instantiate(Rc::new(module), &|_, _| None)
                    .map_err(|e| ctx(&e))?;
                match store.export(instance, "run") {
                    Some(Extern::Func(run)) => Compiled::Patchjit(Instance::Patchjit(store, run)),
                    _ => return Err(ctx(&"no exported function `run`")),
                }
            }
            Engine::Wasmi => Compiled::Wasmi(
                self.wasmi.clone(),
                wasmi::Module::new(&self.wasmi, wasm).map_err(|e| ctx(&e))?,
            ),
            Engine::Winch | Engine::Cranelift => {
                let e = match engine {
                    Engine::Winch => &self.winch,
                    _ => &self.cranelift,
                };
                Compiled::Wasmtime(
                    e.clone(),
                    wasmtime::Module::new(e, wasm).map_err(|e| ctx(&e))?,
                )
            }
            Engine::WasmerSinglepass => Compiled::Wasmer(
                self.wasmer.clone(),
                wasmer::Module::new(&self.wasmer, wasm).map_err(|e| ctx(&e))?,
            ),
        })
    }
}

/// Wasmer with its singlepass compiler on one thread.
fn wasmer_engine() -> wasmer::Engine {
    let mut singlepass = wasmer::sys::Singlepass::new();
    singlepass.num_threads = NonZero::<usize>::MIN;
    wasmer::sys::EngineBuilder::new(singlepass).engine().into()
}

/// A compiled module with the engine state it needs to be instantiated.
pub enum Compiled {
    /// Already instantiated (see [`Compilers::compile`]).
    Patchjit(Instance),
    /// wasmi's engine and module.
    Wasmi(wasmi::Engine, wasmi::Module),
    /// Wasmtime's engine (Winch or Cranelift) and module.
    Wasmtime(wasmtime::Engine, wasmtime::Module),
    /// Wasmer's engine and module.
    Wasmer(wasmer::Engine, wasmer::Module),
}

impl Compiled {
    /// A new instance with `run` looked up, ready for [`Instance::run`].
    pub fn instantiate(self) -> Result<Instance, String> {
        Ok(match self {
            Compiled::Patchjit(instance) => instance,
            Compiled::Wasmi(engine, module) => {
                let mut store = wasmi::Store::new(&engine, ());
                let instance = wasmi::Linker::<()>::new(&engine)
                    .instantiate_and_start(&mut store, &module)
                    .map_err(|e| format!("wasmi: {e}"))?;
                let run = instance
                    .get_typed_func::<i32, i64>(&store, "run")
                    .map_err(|e| format!("wasmi: {e}"))?;
                Instance::Wasmi(Box::new(store), run)
            }
            Compiled::Wasmtime(engine, module) => {
                let mut store = wasmtime::Store::new(&engine, ());
                let instance = wasmtime::Instance::new(&mut store, &module, &[])
                    .map_err(|e| format!("wasmtime: {e}"))?;
                let run = instance
                    .get_typed_func::<i32, i64>(&mut store, "run")
                    .map_err(|e| format!("wasmtime: {e}"))?;
                Instance::Wasmtime(store, run)
            }
            Compiled::Wasmer(engine, module) => {
                let mut store = wasmer::Store::new(engine);
                let instance = wasmer::Instance::new(&mut store, &module, &wasmer::imports! {})
                    .map_err(|e| format!("wasmer: {e}"))?;
                let run = instance
                    .exports
                    .get_typed_function::<i32, i64>(&store, "run")
                    .map_err(|e| format!("wasmer: {e}"))?;
                Instance::Wasmer(store, run)
            }
        })
    }
}

/// An instance and its `run` export.
pub enum Instance {
    /// patchjit-wasm's store and `run`'s function address.
    Patchjit(Store, u32),
    /// wasmi's store (large: boxed) and `run`.
    Wasmi(Box<wasmi::Store<()>>, wasmi::TypedFunc<i32, i64>),
    /// Wasmtime's store and `run`.
    Wasmtime(wasmtime::Store<()>, wasmtime::TypedFunc<i32, i64>),
    /// Wasmer's store and `run`.
    Wasmer(wasmer::Store, wasmer::TypedFunction<i32, i64>),
}

impl Instance {
    /// Calls `run(arg)`; a trap is an error.
    pub fn run(&mut self, arg: i32) -> Result<i64, String> {
        match self {
            Instance::Patchjit(store, run) => {
                match store
                    .invoke(*run, &[Value::I32(arg)])
                    .map_err(|e| e.to_string())?[..]
                {
                    [Value::I64(v)] => Ok(v),
                    ref other => Err(format!("`run` returned {other:?}, not one i64")),
                }
            }
            Instance::Wasmi(store, run) => run.call(&mut **store, arg).map_err(|e| e.to_string()),
            Instance::Wasmtime(store, run) => run.call(store, arg).map_err(|e| e.to_string()),
            Instance::Wasmer(store, run) => run.call(store, arg).map_err(|e| e.to_string()),
        }
    }
}
