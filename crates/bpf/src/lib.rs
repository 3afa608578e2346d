//! eBPF engine built on patchjit: the RFC 9669 instruction set (v1–v4), an assembler and
//! disassembler for the bpf_conformance syntax, a verifier, a memory-safe interpreter,
//! an ELF loader for `clang -target bpf` objects and the conformance-suite runner.
//!
//! The decoded [`isa::Instruction`] form (class, registers, offset, immediate as typed
//! fields) is what a copy-and-patch JIT tier will consume.

pub mod asm;
pub mod conformance;
pub mod disasm;
pub mod elf;
pub mod interp;
pub mod isa;
pub mod verifier;
