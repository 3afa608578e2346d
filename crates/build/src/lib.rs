//! Compiles C templates with clang and writes stencil tables.
pub mod cpython;
