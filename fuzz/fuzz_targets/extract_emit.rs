//! Object file bytes → reader (any of the seven targets) → extraction → runtime table → emission.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = patchjit_fuzz::objects::object(data);
});
