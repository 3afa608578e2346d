//! eBPF ELF bytes → loader → verifier → interpreter (budgeted) → JIT (provably bounded programs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = patchjit_fuzz::bpf::elf_object(data);
});
