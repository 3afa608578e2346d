//! The seven targets patchjit extracts stencils for, and what each implies.

use core::fmt;

/// Instruction set of a target; decides NOPs, alignment, relocation kinds and patch functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64 (AMD64).
    X86_64,
    /// 64-bit Arm (ARMv8-A A64).
    Aarch64,
    /// 32-bit x86.
    I686,
}

impl Arch {
    /// The architecture this program was compiled for, if patchjit supports it.
    pub const fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::I686)
        } else {
            None
        }
    }
}

/// Object-file format of a target; decides which reader quirks apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// ELF (Linux).
    Elf,
    /// Mach-O (macOS).
    MachO,
    /// COFF (Windows).
    Coff,
}

/// A target triple patchjit knows, so flags, prefixes and relocation rules are never guessed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `x86_64-unknown-linux-gnu`.
    X86_64UnknownLinuxGnu,
    /// `aarch64-unknown-linux-gnu`.
    Aarch64UnknownLinuxGnu,
    /// `x86_64-apple-darwin`.
    X86_64AppleDarwin,
    /// `aarch64-apple-darwin`.
    Aarch64AppleDarwin,
    /// `x86_64-pc-windows-msvc`.
    X86_64PcWindowsMsvc,
    /// `aarch64-pc-windows-msvc`.
    Aarch64PcWindowsMsvc,
    /// `i686-pc-windows-msvc`.
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
        let mut parts = triple.split('-');
        let mut next = || parts.next();
        match [next(), next(), next(), next(), next()] {
            [Some("aarch64"), Some("apple"), Some(os), None, None] if os.starts_with("darwin") => {
                Some(Target::Aarch64AppleDarwin)
            }
            [Some("x86_64"), Some("apple"), Some(os), None, None] if os.starts_with("darwin") => {
                Some(Target::X86_64AppleDarwin)
            }
            // Rust's GNU-flavoured Windows hosts share the MSVC targets' C ABI and COFF objects.
            [Some("aarch64"), Some("pc"), Some("windows"), Some("msvc" | "gnullvm"), None] => {
                Some(Target::Aarch64PcWindowsMsvc)
            }
            [Some("x86_64"), Some("pc"), Some("windows"), Some("msvc" | "gnu" | "gnullvm"), None] => {
                Some(Target::X86_64PcWindowsMsvc)
            }
            [Some("i686"), Some("pc"), Some("windows"), Some("msvc" | "gnu" | "gnullvm"), None] => {
                Some(Target::I686PcWindowsMsvc)
            }
            [Some("aarch64"), Some(_), Some("linux"), Some("gnu"), None] => {
                Some(Target::Aarch64UnknownLinuxGnu)
            }
            [Some("x86_64"), Some(_), Some("linux"), Some("gnu"), None] => {
                Some(Target::X86_64UnknownLinuxGnu)
            }
            _ => None,
        }
    }

    /// The canonical triple (what `clang --target=` gets when none was given).
    pub const fn triple(self) -> &'static str {
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

    /// The canonical target of objects in `format` for `arch` (what an object's header implies).
    pub fn canonical(format: Format, arch: Arch) -> Option<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.format() == format && t.arch() == arch)
    }

    /// The target whose stencils run in this program: its architecture and operating system
    /// (Linux, macOS or Windows; other C libraries and OS versions share their ABI).
    pub const fn host() -> Option<Target> {
        let (linux, macos, windows) = (
            cfg!(target_os = "linux"),
            cfg!(target_os = "macos"),
            cfg!(target_os = "windows"),
        );
        match Arch::host() {
            Some(Arch::X86_64) if linux => Some(Target::X86_64UnknownLinuxGnu),
            Some(Arch::Aarch64) if linux => Some(Target::Aarch64UnknownLinuxGnu),
            Some(Arch::X86_64) if macos => Some(Target::X86_64AppleDarwin),
            Some(Arch::Aarch64) if macos => Some(Target::Aarch64AppleDarwin),
            Some(Arch::X86_64) if windows => Some(Target::X86_64PcWindowsMsvc),
            Some(Arch::Aarch64) if windows => Some(Target::Aarch64PcWindowsMsvc),
            Some(Arch::I686) if windows => Some(Target::I686PcWindowsMsvc),
            _ => None,
        }
    }

    /// The instruction set.
    pub const fn arch(self) -> Arch {
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

    /// The object-file format clang writes for it.
    pub const fn format(self) -> Format {
        match self {
            Target::X86_64UnknownLinuxGnu | Target::Aarch64UnknownLinuxGnu => Format::Elf,
            Target::X86_64AppleDarwin | Target::Aarch64AppleDarwin => Format::MachO,
            Target::X86_64PcWindowsMsvc
            | Target::Aarch64PcWindowsMsvc
            | Target::I686PcWindowsMsvc => Format::Coff,
        }
    }

    /// Prefix the C compiler puts before every symbol name; stripped before names are matched.
    pub const fn symbol_prefix(self) -> &'static str {
        match self {
            Target::X86_64AppleDarwin | Target::Aarch64AppleDarwin | Target::I686PcWindowsMsvc => {
                "_"
            }
            _ => "",
        }
    }

    /// Code stencils are padded with NOPs to this many bytes so the next stencil stays aligned.
    pub const fn code_alignment(self) -> usize {
        match self.arch() {
            Arch::Aarch64 => 8,
            Arch::X86_64 | Arch::I686 => 1,
        }
    }

    /// The NOP instruction used for padding, little-endian bytes.
    pub const fn nop(self) -> &'static [u8] {
        match self.arch() {
            Arch::Aarch64 => &[0x1f, 0x20, 0x03, 0xd5],
            Arch::X86_64 | Arch::I686 => &[0x90],
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
            let canonical = Target::canonical(target.format(), target.arch()).unwrap();
            assert_eq!(
                (canonical.format(), canonical.arch()),
                (target.format(), target.arch())
            );
        }
        assert_eq!(Target::from_triple("x86_64-unknown-linux-gnu-extra"), None);
    }

    #[test]
    fn the_host_is_the_target_this_test_runs_on() {
        extern crate std;
        use std::env::consts::{ARCH, OS};
        let arch = match ARCH {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "x86" => Some(Arch::I686),
            _ => None,
        };
        let format = match OS {
            "linux" => Some(Format::Elf),
            "macos" => Some(Format::MachO),
            "windows" => Some(Format::Coff),
            _ => None,
        };
        assert_eq!(Arch::host(), arch);
        let expected = arch
            .zip(format)
            .and_then(|(arch, format)| Target::canonical(format, arch));
        assert_eq!(Target::host(), expected);
    }
}
