//! The seven targets patchjit extracts stencils for, and what each implies.

use std::fmt;

/// Instruction set of a target; decides NOPs, alignment, relocation kinds and patch functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    X86_64,
    Aarch64,
    I686,
}

/// Object-file format of a target; decides which reader quirks apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Elf,
    MachO,
    Coff,
}

/// A target triple patchjit knows, so flags, prefixes and relocation rules are never guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    X86_64UnknownLinuxGnu,
    Aarch64UnknownLinuxGnu,
    X86_64AppleDarwin,
    Aarch64AppleDarwin,
    X86_64PcWindowsMsvc,
    Aarch64PcWindowsMsvc,
    I686PcWindowsMsvc,
}

impl Target {
    /// Every supported target, in a stable order (used by tests and `--help`).
    pub const ALL: [Target; 7] = [
        Target::X86_64UnknownLinuxGnu,
        Target::Aarch64UnknownLinuxGnu,
        Target::X86_64AppleDarwin,
        Target::Aarch64AppleDarwin,
        Target::X86_64PcWindowsMsvc,
        Target::Aarch64PcWindowsMsvc,
        Target::I686PcWindowsMsvc,
    ];

    /// Matches a triple the way CPython's `Tools/jit` does (vendor and OS-version wildcards),
    /// so `x86_64-pc-linux-gnu` and `aarch64-apple-darwin24.1.0` are accepted.
    pub fn from_triple(triple: &str) -> Option<Target> {
        let parts: Vec<&str> = triple.split('-').collect();
        match parts.as_slice() {
            ["aarch64", "apple", os] if os.starts_with("darwin") => {
                Some(Target::Aarch64AppleDarwin)
            }
            ["x86_64", "apple", os] if os.starts_with("darwin") => Some(Target::X86_64AppleDarwin),
            // Rust's GNU-flavoured Windows hosts share the MSVC targets' C ABI and COFF objects.
            ["aarch64", "pc", "windows", "msvc" | "gnullvm"] => Some(Target::Aarch64PcWindowsMsvc),
            ["x86_64", "pc", "windows", "msvc" | "gnu" | "gnullvm"] => {
                Some(Target::X86_64PcWindowsMsvc)
            }
            ["i686", "pc", "windows", "msvc" | "gnu" | "gnullvm"] => {
                Some(Target::I686PcWindowsMsvc)
            }
            ["aarch64", _, "linux", "gnu"] => Some(Target::Aarch64UnknownLinuxGnu),
            ["x86_64", _, "linux", "gnu"] => Some(Target::X86_64UnknownLinuxGnu),
            _ => None,
        }
    }

    /// The canonical triple (what `clang --target=` gets when none was given).
    pub fn triple(self) -> &'static str {
        match self {
            Target::X86_64UnknownLinuxGnu => "x86_64-unknown-linux-gnu",
            Target::Aarch64UnknownLinuxGnu => "aarch64-unknown-linux-gnu",
            Target::X86_64AppleDarwin => "x86_64-apple-darwin",
            Target::Aarch64AppleDarwin => "aarch64-apple-darwin",
            Target::X86_64PcWindowsMsvc => "x86_64-pc-windows-msvc",
            Target::Aarch64PcWindowsMsvc => "aarch64-pc-windows-msvc",
            Target::I686PcWindowsMsvc => "i686-pc-windows-msvc",
        }
    }

    pub fn arch(self) -> Arch {
        match self {
            Target::X86_64UnknownLinuxGnu
            | Target::X86_64AppleDarwin
            | Target::X86_64PcWindowsMsvc => Arch::X86_64,
            Target::Aarch64UnknownLinuxGnu
            | Target::Aarch64AppleDarwin
            | Target::Aarch64PcWindowsMsvc => Arch::Aarch64,
            Target::I686PcWindowsMsvc => Arch::I686,
        }
    }

    pub fn format(self) -> Format {
        match self {
            Target::X86_64UnknownLinuxGnu | Target::Aarch64UnknownLinuxGnu => Format::Elf,
            Target::X86_64AppleDarwin | Target::Aarch64AppleDarwin => Format::MachO,
            Target::X86_64PcWindowsMsvc
            | Target::Aarch64PcWindowsMsvc
            | Target::I686PcWindowsMsvc => Format::Coff,
        }
    }

    /// Prefix the C compiler puts before every symbol name; stripped before names are matched.
    pub fn symbol_prefix(self) -> &'static str {
        match self {
            Target::X86_64AppleDarwin | Target::Aarch64AppleDarwin | Target::I686PcWindowsMsvc => {
                "_"
            }
            _ => "",
        }
    }

    /// Code stencils are padded with NOPs to this many bytes so the next stencil stays aligned.
    pub fn code_alignment(self) -> usize {
        match self.arch() {
            Arch::Aarch64 => 8,
            Arch::X86_64 | Arch::I686 => 1,
        }
    }

    /// The NOP instruction used for padding, little-endian bytes.
    pub fn nop(self) -> &'static [u8] {
        match self.arch() {
            Arch::Aarch64 => &[0x1f, 0x20, 0x03, 0xd5],
            Arch::X86_64 | Arch::I686 => &[0x90],
        }
    }

    /// Target-specific clang arguments, as CPython 3.14's `Tools/jit/_targets.py` passes them.
    pub fn clang_args(self) -> &'static [&'static str] {
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

    /// The preprocessor condition that selects this target in CPython's umbrella `jit_stencils.h`.
    pub fn c_condition(self) -> &'static str {
        match self {
            Target::Aarch64AppleDarwin => "defined(__aarch64__) && defined(__APPLE__)",
            Target::Aarch64PcWindowsMsvc => "defined(_M_ARM64)",
            Target::Aarch64UnknownLinuxGnu => "defined(__aarch64__) && defined(__linux__)",
            Target::I686PcWindowsMsvc => "defined(_M_IX86)",
            Target::X86_64AppleDarwin => "defined(__x86_64__) && defined(__APPLE__)",
            Target::X86_64PcWindowsMsvc => "defined(_M_X64)",
            Target::X86_64UnknownLinuxGnu => "defined(__x86_64__) && defined(__linux__)",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.triple())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_cargo_and_clang_spell() {
        let cases = [
            (
                "x86_64-unknown-linux-gnu",
                Some(Target::X86_64UnknownLinuxGnu),
            ),
            ("x86_64-pc-linux-gnu", Some(Target::X86_64UnknownLinuxGnu)),
            (
                "aarch64-unknown-linux-gnu",
                Some(Target::Aarch64UnknownLinuxGnu),
            ),
            ("arm64-apple-darwin", None),
            (
                "aarch64-apple-darwin23.1.0",
                Some(Target::Aarch64AppleDarwin),
            ),
            ("x86_64-pc-windows-gnu", Some(Target::X86_64PcWindowsMsvc)),
            ("i686-pc-windows-gnu", Some(Target::I686PcWindowsMsvc)),
            (
                "aarch64-pc-windows-gnullvm",
                Some(Target::Aarch64PcWindowsMsvc),
            ),
            ("x86_64-unknown-linux-musl", None),
            ("riscv64gc-unknown-linux-gnu", None),
        ];
        for (triple, expected) in cases {
            assert_eq!(Target::from_triple(triple), expected, "{triple}");
        }
        for target in Target::ALL {
            assert_eq!(Target::from_triple(target.triple()), Some(target));
        }
    }
}
