//! eBPF engine built on patchjit: the RFC 9669 instruction set (v1–v4), an assembler and
//! disassembler for the bpf_conformance syntax, a verifier, a memory-safe interpreter, a
//! copy-and-patch JIT (on Linux x86-64 and AArch64, where its stencil tables are committed),
//! an ELF loader for `clang -target bpf` objects and the conformance-suite runner, which runs
//! both tiers.

#![warn(missing_docs)]

pub mod asm;
pub mod conformance;
pub mod disasm;
pub mod elf;
pub mod interp;
pub mod isa;
#[cfg(bpf_jit)]
pub mod jit;
pub mod verifier;
pub mod vm;

/// The README's example, run as a doctest so the published front page stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
