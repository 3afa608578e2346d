//! Finding the LLVM tools patchjit runs (clang, and llvm-objdump for CPython's code comments)
//! and checking their versions: one search order, one meaning of `PATCHJIT_CLANG` /
//! `PATCHJIT_OBJDUMP`, one version parser, one `--version` cache, for the template builder and
//! the CPython job alike.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest clang with `preserve_none` on x86-64 and AArch64.
pub const MIN_MAJOR: u32 = 19;

/// The newest clang major version looked for by name (`clang-22`); a plain `clang` may be newer.
const NEWEST_NAMED: u32 = 22;

/// An LLVM program patchjit runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolKind {
    /// Compiles templates (and CPython's micro-ops).
    Clang,
    /// `llvm-objdump`, for the disassembly comments in CPython's headers.
    Objdump,
}

impl ToolKind {
    /// The unversioned executable name.
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::Clang => "clang",
            ToolKind::Objdump => "llvm-objdump",
        }
    }

    /// The environment variable that names the executable outright.
    pub fn env_var(self) -> &'static str {
        match self {
            ToolKind::Clang => "PATCHJIT_CLANG",
            ToolKind::Objdump => "PATCHJIT_OBJDUMP",
        }
    }
}

/// The LLVM major versions a caller accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versions {
    /// This one or newer (templates: [`MIN_MAJOR`]).
    AtLeast(u32),
    /// Only this one (CPython 3.14's stencils are built with LLVM 19, and not Apple's).
    Exactly(u32),
}

impl Versions {
    fn accepts(self, tool: &Tool) -> bool {
        match self {
            Versions::AtLeast(min) => tool.major >= min,
            Versions::Exactly(major) => tool.major == major && !tool.version.contains("Apple "),
        }
    }

    /// The names tried on `PATH`, in order.
    fn candidates(self, kind: ToolKind) -> Vec<String> {
        let majors = match self {
            Versions::AtLeast(min) => min..=NEWEST_NAMED.max(min),
            Versions::Exactly(major) => major..=major,
        };
        majors
            .map(|major| format!("{}-{major}", kind.name()))
            .chain([kind.name().to_string()])
            .collect()
    }
}

impl fmt::Display for Versions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Versions::AtLeast(min) => write!(f, "{min} or newer"),
            Versions::Exactly(major) => write!(f, "{major}"),
        }
    }
}

/// A runnable LLVM tool: where it is and what `--version` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    /// The executable, as found on `PATH` or named by the environment variable.
    pub path: PathBuf,
    /// The line of `--version` naming the version (part of every compile cache key).
    pub version: String,
    /// The LLVM major version parsed from `version`.
    pub major: u32,
}

/// Why no usable tool was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolProblem {
    /// The tool's environment variable names something that does not run.
    EnvNotRunnable {
        /// The tool looked for.
        kind: ToolKind,
        /// The variable's value.
        path: String,
        /// Why it did not run (the OS error, or a failing or unparsable `--version`).
        reason: String,
        /// The versions that would have been accepted.
        wanted: Versions,
    },
    /// None of the candidate names is on `PATH` (or none of them runs).
    NotFound {
        /// The tool looked for.
        kind: ToolKind,
        /// The versions that would have been accepted.
        wanted: Versions,
    },
    /// The tool found (by the variable, or the last found on `PATH`) has the wrong version.
    WrongVersion {
        /// The tool looked for.
        kind: ToolKind,
        /// The executable found.
        path: String,
        /// Its `--version` line.
        version: String,
        /// The versions that would have been accepted.
        wanted: Versions,
    },
}

impl ToolProblem {
    /// Whether the tool's environment variable named the failing program (a user's explicit
    /// choice, never silently replaced).
    pub fn from_env(&self) -> bool {
        match self {
            ToolProblem::EnvNotRunnable { .. } => true,
            ToolProblem::NotFound { .. } => false,
            ToolProblem::WrongVersion { kind, path, .. } => {
                std::env::var_os(kind.env_var()).is_some_and(|v| Path::new(&v) == Path::new(path))
            }
        }
    }
}

impl fmt::Display for ToolProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolProblem::EnvNotRunnable {
                kind,
                path,
                reason,
                wanted,
            } => write!(
                f,
                "{}={path} cannot be run ({reason}); point it at {} {wanted}",
                kind.env_var(),
                kind.name(),
            ),
            ToolProblem::NotFound { kind, wanted } => write!(
                f,
                "no {} found (tried {}, {} on PATH); install {} {wanted} or set {}",
                kind.name(),
                kind.env_var(),
                wanted.candidates(*kind).join(", "),
                kind.name(),
                kind.env_var()
            ),
            ToolProblem::WrongVersion {
                kind,
                path,
                version,
                wanted,
            } => {
                match wanted {
                    Versions::AtLeast(_) => write!(
                        f,
                        "{path} is too old ({version}); patchjit templates need {} {wanted}",
                        kind.name()
                    )?,
                    Versions::Exactly(_) => write!(
                        f,
                        "{path} is {version}; this build needs LLVM {wanted} exactly, as \
                         CPython 3.14 does"
                    )?,
                }
                write!(f, " (set {})", kind.env_var())
            }
        }
    }
}

/// Finds `kind` in `wanted`'s versions: the program its environment variable names (which must
/// run and have such a version), else the first of `<name>-<major>` … and `<name>` on `PATH`
/// that does. `version_cache` avoids running `--version` again for an unchanged binary.
pub fn find_tool(
    kind: ToolKind,
    wanted: Versions,
    version_cache: Option<&Path>,
) -> Result<Tool, ToolProblem> {
    let wrong = |tool: Tool| ToolProblem::WrongVersion {
        kind,
        path: tool.path.display().to_string(),
        version: tool.version,
        wanted,
    };
    if let Some(path) = std::env::var_os(kind.env_var()) {
        let path = PathBuf::from(path);
        return match probe(&path, version_cache) {
            Ok(tool) if wanted.accepts(&tool) => Ok(tool),
            Ok(tool) => Err(wrong(tool)),
            Err(reason) => Err(ToolProblem::EnvNotRunnable {
                kind,
                path: path.display().to_string(),
                reason,
                wanted,
            }),
        };
    }
    let mut wrong_version = None;
    for name in wanted.candidates(kind) {
        let Some(path) = on_path(&name) else { continue };
        match probe(&path, version_cache) {
            Ok(tool) if wanted.accepts(&tool) => return Ok(tool),
            Ok(tool) => wrong_version = Some(wrong(tool)),
            Err(_) => {}
        }
    }
    Err(wrong_version.unwrap_or(ToolProblem::NotFound { kind, wanted }))
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `--version` (or reuses the answer cached for this path, size and modification time).
fn probe(path: &Path, version_cache: Option<&Path>) -> Result<Tool, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let stamp = format!(
        "{}\n{}\n{:?}\n",
        path.display(),
        meta.len(),
        meta.modified().ok()
    );
    let cache_file = version_cache.map(|dir| {
        let key = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(stamp.as_bytes()));
        dir.join(format!("tool-{}.version", &key[..16]))
    });
    let tool = |version: &str, major| Tool {
        path: path.to_path_buf(),
        version: version.to_string(),
        major,
    };
    if let Some(file) = &cache_file {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Some(version) = text.strip_prefix(&stamp) {
                if let Some((line, major)) = parse_version(version) {
                    return Ok(tool(line, major));
                }
            }
        }
    }
    let output = Command::new(path)
        .arg("--version")
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("`--version` exited with {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (line, major) = parse_version(&text).ok_or_else(|| {
        format!(
            "unrecognised version {:?}",
            text.lines().next().unwrap_or("")
        )
    })?;
    if let Some(file) = &cache_file {
        // A failed write only costs a `--version` next time.
        let _ = std::fs::write(file, format!("{stamp}{line}"));
    }
    Ok(tool(line, major))
}

/// The line of `--version` output that names the version, and its major number:
/// `Ubuntu clang version 19.1.1 (1ubuntu1)` or `Debian LLVM version 19.1.7` → 19.
fn parse_version(text: &str) -> Option<(&str, u32)> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let at = ["clang version ", "LLVM version "]
            .iter()
            .find_map(|marker| Some(line.find(marker)? + marker.len()))?;
        let major = line[at..].split('.').next()?.parse().ok()?;
        Some((line, major))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        let major = |text| parse_version(text).map(|(_, major)| major);
        assert_eq!(
            major("Ubuntu clang version 19.1.1 (1ubuntu1)\nTarget: x"),
            Some(19)
        );
        assert_eq!(major("clang version 22.0.0git"), Some(22));
        assert_eq!(major("Apple clang version 15.0.0"), Some(15));
        assert_eq!(
            parse_version("Debian LLVM version 19.1.7\n  Optimized build.\n"),
            Some(("Debian LLVM version 19.1.7", 19))
        );
        assert_eq!(major("gcc (GCC) 13"), None);
    }

    #[test]
    fn candidates_and_requirements() {
        assert_eq!(
            Versions::AtLeast(19).candidates(ToolKind::Clang),
            ["clang-19", "clang-20", "clang-21", "clang-22", "clang"]
        );
        assert_eq!(
            Versions::Exactly(19).candidates(ToolKind::Objdump),
            ["llvm-objdump-19", "llvm-objdump"]
        );
        let tool = |version: &str, major| Tool {
            path: PathBuf::from("clang"),
            version: version.to_string(),
            major,
        };
        assert!(Versions::AtLeast(19).accepts(&tool("clang version 20.1.0", 20)));
        assert!(!Versions::Exactly(19).accepts(&tool("clang version 20.1.0", 20)));
        assert!(!Versions::Exactly(19).accepts(&tool("Apple clang version 19.0.0", 19)));
        assert!(Versions::Exactly(19).accepts(&tool("Debian LLVM version 19.1.7", 19)));
    }
}
