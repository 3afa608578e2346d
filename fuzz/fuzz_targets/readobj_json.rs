//! `llvm-readobj` JSON text → JSON reader → extraction → runtime table → emission.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = patchjit_fuzz::objects::readobj_json(data);
});
