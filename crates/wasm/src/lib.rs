//! patchjit-wasm: a WebAssembly 1.0 (MVP plus mutable globals) engine.
//!
//! A module is decoded and validated once by wasmparser ([`module::Module::decode`]), each
//! function body lowered to a flat array of resolved instructions ([`code::Code`]). The
//! [`store::Store`] instantiates and links modules and hands calls to its [`tier::Tier`];
//! the reference interpreter ([`interp`]) is the first tier, a copy-and-patch JIT the second
//! (Linux on x86-64 and AArch64). [`runner`] runs the official
//! `.wast` spec scripts on a tier.

#![warn(missing_docs)]

pub mod code;
pub mod interp;
#[cfg(wasm_jit)]
mod jit;
pub mod module;
pub mod num;
pub mod runner;
pub mod spectest;
pub mod store;
pub mod tier;
pub mod trap;
pub mod types;
