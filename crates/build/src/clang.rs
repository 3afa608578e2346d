//! Finding a clang that can compile templates (major version 19 or newer: `preserve_none`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The oldest clang with `preserve_none` on x86-64 and AArch64.
pub const MIN_MAJOR: u32 = 19;

/// A usable clang: where it is and what `--version` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clang {
    pub path: PathBuf,
    /// The first line of `clang --version` (part of every cache key).
    pub version: String,
    pub major: u32,
}

/// Why no clang could be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClangProblem {
    /// `PATCHJIT_CLANG` names something that does not run.
    EnvNotRunnable { path: String, reason: String },
    /// None of `clang-19` … `clang-22`, `clang` is on `PATH`.
    NotFound,
    /// The clang found is older than [`MIN_MAJOR`].
    TooOld { path: String, version: String },
}

impl std::fmt::Display for ClangProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClangProblem::EnvNotRunnable { path, reason } => write!(
                f,
                "PATCHJIT_CLANG={path} cannot be run ({reason}); point it at clang {MIN_MAJOR} or newer"
            ),
            ClangProblem::NotFound => write!(
                f,
                "no clang found (tried PATCHJIT_CLANG, clang-19, clang-20, clang-21, clang-22, clang on \
                 PATH); install clang {MIN_MAJOR} or newer or set PATCHJIT_CLANG"
            ),
            ClangProblem::TooOld { path, version } => write!(
                f,
                "{path} is too old ({version}); patchjit templates need clang {MIN_MAJOR} or newer \
                 (set PATCHJIT_CLANG)"
            ),
        }
    }
}

/// Finds clang: `$PATCHJIT_CLANG`, else `clang-19` … `clang-22`, else `clang` on `PATH`.
/// `version_cache` avoids running `--version` again for an unchanged binary.
pub fn find(version_cache: Option<&Path>) -> Result<Clang, ClangProblem> {
    if let Some(path) = std::env::var_os("PATCHJIT_CLANG") {
        let path = PathBuf::from(path);
        return match probe(&path, version_cache) {
            Ok(clang) => check_major(clang),
            Err(reason) => Err(ClangProblem::EnvNotRunnable {
                path: path.display().to_string(),
                reason,
            }),
        };
    }
    let mut too_old = None;
    for name in ["clang-19", "clang-20", "clang-21", "clang-22", "clang"] {
        let Some(path) = on_path(name) else { continue };
        if let Ok(clang) = probe(&path, version_cache) {
            match check_major(clang) {
                Ok(clang) => return Ok(clang),
                Err(problem) => too_old = Some(problem),
            }
        }
    }
    Err(too_old.unwrap_or(ClangProblem::NotFound))
}

fn check_major(clang: Clang) -> Result<Clang, ClangProblem> {
    if clang.major >= MIN_MAJOR {
        Ok(clang)
    } else {
        Err(ClangProblem::TooOld {
            path: clang.path.display().to_string(),
            version: clang.version,
        })
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `--version` (or reuses the answer cached for this path, size and modification time).
fn probe(path: &Path, version_cache: Option<&Path>) -> Result<Clang, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let stamp = format!(
        "{}\n{}\n{:?}\n",
        path.display(),
        meta.len(),
        meta.modified().ok()
    );
    let cache_file = version_cache.map(|dir| {
        let key = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(stamp.as_bytes()));
        dir.join(format!("clang-{}.version", &key[..16]))
    });
    if let Some(file) = &cache_file {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Some(version) = text.strip_prefix(&stamp) {
                if let Some(major) = parse_major(version) {
                    return Ok(Clang {
                        path: path.to_path_buf(),
                        version: version.to_string(),
                        major,
                    });
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
    let version = text.lines().next().unwrap_or("").trim().to_string();
    let major = parse_major(&version).ok_or_else(|| format!("unrecognised version {version:?}"))?;
    if let Some(file) = &cache_file {
        // A failed write only costs a `--version` next time.
        let _ = std::fs::write(file, format!("{stamp}{version}"));
    }
    Ok(Clang {
        path: path.to_path_buf(),
        version,
        major,
    })
}

/// `Ubuntu clang version 19.1.1 (1ubuntu1)` → 19.
fn parse_major(line: &str) -> Option<u32> {
    let rest = &line[line.find("clang version ")? + "clang version ".len()..];
    rest.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_majors() {
        assert_eq!(
            parse_major("Ubuntu clang version 19.1.1 (1ubuntu1)"),
            Some(19)
        );
        assert_eq!(parse_major("clang version 22.0.0git"), Some(22));
        assert_eq!(parse_major("Apple clang version 15.0.0"), Some(15));
        assert_eq!(parse_major("gcc (GCC) 13"), None);
    }
}
