//! Compiling templates: clang runs in parallel on all cores ([`parallel_map`]), and every object is cached under a
//! SHA-256 of everything it depends on (clang version, flags, the source's path and bytes), with
//! the headers clang reported (`-MD`) re-hashed on lookup, so a no-op rebuild runs no compiler.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::driver::{parallel_map, Event};
use crate::tools::Tool;
use crate::Error;
use sha2::{Digest, Sha256};

/// One compiled template.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub object: Vec<u8>,
    /// Every file the object depends on (the source and the headers it included).
    pub dependencies: Vec<PathBuf>,
    /// True if the object came from the cache.
    pub cached: bool,
    /// clang's diagnostics (warnings) for a successful compilation, kept with the cached
    /// object so a warm build shows them too.
    pub warnings: String,
}

/// Compiles every source with `clang <flags> -c source` on all cores (in order of `sources` in
/// the result), reporting each as [`Event::Compiled`] under its template's name (a template's
/// variants are compiled from a generated source).
pub fn compile_all(
    clang: &Tool,
    flags: &[String],
    sources: &[(PathBuf, String)],
    cache_dir: &Path,
    progress: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Vec<Compiled>, Error> {
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    let header_hashes = Mutex::new(HashMap::new());
    parallel_map(
        sources,
        0,
        |(source, _)| compile_one(clang, flags, source, cache_dir, &header_hashes),
        |(_, name), compiled, done| {
            progress(Event::Compiled {
                name,
                cached: compiled.cached,
                done,
                total: sources.len(),
            })
        },
    )
}

fn compile_one(
    clang: &Tool,
    flags: &[String],
    source: &Path,
    cache_dir: &Path,
    header_hashes: &Mutex<HashMap<PathBuf, Option<String>>>,
) -> Result<Compiled, Error> {
    let text = std::fs::read(source).map_err(|e| Error::io(source, e))?;
    let absolute = std::fs::canonicalize(source).map_err(|e| Error::io(source, e))?;
    let mut key = Sha256::new();
    field(&mut key, b"patchjit-build compile cache v1");
    field(&mut key, clang.version.as_bytes());
    for flag in flags {
        field(&mut key, flag.as_bytes());
    }
    field(&mut key, absolute.as_os_str().as_encoded_bytes());
    field(&mut key, &text);
    let key = hex::encode(key.finalize());
    let object_path = cache_dir.join(format!("{key}.o"));
    let deps_path = cache_dir.join(format!("{key}.deps"));
    let warnings_path = cache_dir.join(format!("{key}.warnings"));
    if let Some(dependencies) = cached_dependencies(&deps_path, header_hashes) {
        if let Ok(object) = std::fs::read(&object_path) {
            return Ok(Compiled {
                object,
                dependencies,
                cached: true,
                warnings: std::fs::read_to_string(&warnings_path).unwrap_or_default(),
            });
        }
    }
    let unique = format!("{key}.{}.tmp", unique_suffix());
    let tmp_object = cache_dir.join(format!("{unique}.o"));
    let tmp_depfile = cache_dir.join(format!("{unique}.d"));
    let output = Command::new(&clang.path)
        .args(flags)
        .arg("-MD")
        .arg("-MF")
        .arg(&tmp_depfile)
        .arg("-o")
        .arg(&tmp_object)
        .arg(source)
        .output()
        .map_err(|e| Error::io(&clang.path, e))?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&tmp_object);
        let _ = std::fs::remove_file(&tmp_depfile);
        return Err(Error::Compile {
            template: source.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let depfile = std::fs::read_to_string(&tmp_depfile).map_err(|e| Error::io(&tmp_depfile, e))?;
    let _ = std::fs::remove_file(&tmp_depfile);
    let dependencies: Vec<PathBuf> = parse_depfile(&depfile)
        .into_iter()
        .map(PathBuf::from)
        .collect();
    let mut record = String::new();
    for dep in &dependencies {
        let Some(hash) = hash_file(dep, header_hashes) else {
            continue;
        };
        record.push_str(&format!("{hash}\t{}\n", dep.display()));
    }
    let object = std::fs::read(&tmp_object).map_err(|e| Error::io(&tmp_object, e))?;
    let warnings = String::from_utf8_lossy(&output.stderr).into_owned();
    if warnings.is_empty() {
        let _ = std::fs::remove_file(&warnings_path);
    } else {
        std::fs::write(&warnings_path, &warnings).map_err(|e| Error::io(&warnings_path, e))?;
    }
    std::fs::rename(&tmp_object, &object_path).map_err(|e| Error::io(&object_path, e))?;
    // Written last: its presence marks the entry complete.
    std::fs::write(&deps_path, record).map_err(|e| Error::io(&deps_path, e))?;
    Ok(Compiled {
        object,
        dependencies,
        cached: false,
        warnings,
    })
}

/// Hashes a length-prefixed field, so `("ab", "c")` and `("a", "bc")` are different keys.
fn field(hasher: &mut Sha256, data: &[u8]) {
    hasher.update((data.len() as u64).to_le_bytes());
    hasher.update(data);
}

/// A name part no other process or thread is using now (for files written aside).
pub fn unique_suffix() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The dependencies recorded for a cache entry, if every one still has its recorded hash.
fn cached_dependencies(
    deps_path: &Path,
    header_hashes: &Mutex<HashMap<PathBuf, Option<String>>>,
) -> Option<Vec<PathBuf>> {
    let record = std::fs::read_to_string(deps_path).ok()?;
    let mut dependencies = Vec::new();
    for line in record.lines() {
        let (hash, path) = line.split_once('\t')?;
        let path = PathBuf::from(path);
        if hash_file(&path, header_hashes)?.as_str() != hash {
            return None;
        }
        dependencies.push(path);
    }
    Some(dependencies)
}

/// SHA-256 of a file, memoised for the run (many templates share headers).
fn hash_file(path: &Path, memo: &Mutex<HashMap<PathBuf, Option<String>>>) -> Option<String> {
    if let Some(known) = memo.lock().unwrap().get(path) {
        return known.clone();
    }
    let hash = std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(Sha256::digest(bytes)));
    memo.lock()
        .unwrap()
        .insert(path.to_path_buf(), hash.clone());
    hash
}

/// The prerequisites in a Make-style depfile (`out.o: a.c b.h \` …), unescaping `\ ` and `$$`.
fn parse_depfile(text: &str) -> Vec<String> {
    let joined = text.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut out = Vec::new();
    for rule in joined.lines() {
        // The target ends at the first ": " (a drive letter's colon has no space after it).
        let Some(colon) = rule
            .find(": ")
            .or_else(|| rule.strip_suffix(':').map(|r| r.len()))
        else {
            continue;
        };
        let mut current = String::new();
        let mut chars = rule[colon + 1..].chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    current.push(' ');
                    chars.next();
                }
                '$' if chars.peek() == Some(&'$') => {
                    current.push('$');
                    chars.next();
                }
                c if c.is_whitespace() => {
                    if !current.is_empty() {
                        out.push(std::mem::take(&mut current));
                    }
                }
                c => current.push(c),
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depfile_prerequisites() {
        let text = "x.o: /a/add.c /inc/patch\\ jit.h \\\n  /usr/lib/clang/19/include/stdint.h\n";
        assert_eq!(
            parse_depfile(text),
            [
                "/a/add.c",
                "/inc/patch jit.h",
                "/usr/lib/clang/19/include/stdint.h"
            ]
        );
    }
}
