//! The digest on the first line of `jit_stencils-<triple>.h`: SHA-256 over everything the
//! stencils depend on, computed exactly as CPython 3.14.7's `Tools/jit` computes it, so an
//! unchanged tree is detected (by patchjit or by CPython's own script) without compiling.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The inputs of one target's stencils.
pub struct DigestInputs<'a> {
    /// The triple exactly as given on the command line.
    pub triple: &'a str,
    /// A debug interpreter build (`--debug`), hashed as one byte.
    pub debug: bool,
    /// The extra clang flags exactly as given, hashed as text.
    pub cflags: &'a str,
    /// The CPython source root.
    pub cpython: &'a Path,
    /// The directory holding the configured `pyconfig.h`.
    pub pyconfig_dir: &'a Path,
}

/// Lowercase hex SHA-256 of: triple, a debug byte, the cflags, `Python/executor_cases.c.h`,
/// `pyconfig.h`, then every file under `Tools/jit` (directories in path order, files in name
/// order, `__pycache__` directories skipped).
pub fn digest(inputs: &DigestInputs<'_>) -> io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(inputs.triple.as_bytes());
    hasher.update([u8::from(inputs.debug)]);
    hasher.update(inputs.cflags.as_bytes());
    hasher.update(read(&inputs.cpython.join("Python/executor_cases.c.h"))?);
    hasher.update(read(&inputs.pyconfig_dir.join("pyconfig.h"))?);
    for (dir, files) in walk(&inputs.cpython.join("Tools/jit"))? {
        if dir.as_os_str().to_string_lossy().ends_with("__pycache__") {
            continue;
        }
        for file in files {
            hasher.update(read(&dir.join(file))?);
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// `sorted(os.walk(root))` reduced to (directory, sorted file names): top-down, symlinked
/// directories listed but not entered, sorted by directory path.
fn walk(root: &Path) -> io::Result<Vec<(PathBuf, Vec<std::ffi::OsString>)>> {
    let mut result = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut files = Vec::new();
        let entries = fs::read_dir(&dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry?;
            let file_type = entry.file_type()?;
            // os.walk classifies a symlink by what it points to but does not descend into it.
            let is_dir = if file_type.is_symlink() {
                entry.path().is_dir()
            } else {
                file_type.is_dir()
            };
            if !is_dir {
                files.push(entry.file_name());
            } else if !file_type.is_symlink() {
                pending.push(entry.path());
            }
        }
        files.sort();
        result.push((dir, files));
    }
    result.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    Ok(result)
}
