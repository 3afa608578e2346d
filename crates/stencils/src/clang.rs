//! The clang flags each target's templates are compiled with: a build-time concern, so kept out
//! of the shared vocabulary (which the runtime depends on) and added to [`Target`] here.

use patchjit_vocab::Target;

/// Target-specific clang arguments, as CPython 3.14's `Tools/jit/_targets.py` passes them.
pub trait ClangArgs {
    /// The arguments, after the flags every template gets.
    fn clang_args(self) -> &'static [&'static str];
}

impl ClangArgs for Target {
    fn clang_args(self) -> &'static [&'static str] {
        match self {
            Target::Aarch64AppleDarwin | Target::X86_64AppleDarwin => &[],
            Target::Aarch64PcWindowsMsvc => &["-fms-runtime-lib=dll", "-fplt"],
            Target::Aarch64UnknownLinuxGnu => &["-fpic", "-mno-outline-atomics"],
            Target::I686PcWindowsMsvc => &["-DPy_NO_ENABLE_SHARED", "-Wno-ignored-attributes"],
            Target::X86_64PcWindowsMsvc => &["-fms-runtime-lib=dll"],
            Target::X86_64UnknownLinuxGnu => {
                &["-fno-pic", "-mcmodel=medium", "-mlarge-data-threshold=0"]
            }
        }
    }
}
