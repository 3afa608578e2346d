//! The no-op build: after a build writes its outputs, a stamp records what they were made
//! from (the builder's configuration, clang's version, every template and header by SHA-256)
//! and what they are (their SHA-256) with the build's counts. A later build that finds every
//! input and output unchanged returns the recorded report without reading a single object, so
//! a table of thousands of stencils costs its input hashes, not its extraction, when nothing
//! changed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use patchjit_stencils::PatchKind;
use sha2::{Digest, Sha256};

use crate::{Error, Report, TableSource, Target};

/// Where a build's stamp lives: named by everything that decides its outputs except the file
/// contents (`key`: the configuration, clang's version and the builder program).
pub fn path(cache_dir: &Path, key: &str) -> PathBuf {
    let name = hex::encode(&Sha256::digest(key.as_bytes())[..16]);
    cache_dir.join("stamps").join(name)
}

/// The recorded report and the files the outputs were made from, if the stamp at `stamp`
/// exists and every file it lists still has its recorded hash (outputs included).
pub fn fresh(
    stamp: &Path,
    target: Target,
    output: &Path,
    start: Instant,
) -> Option<(Report, Vec<PathBuf>)> {
    let text = std::fs::read_to_string(stamp).ok()?;
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    let counts: Vec<usize> = lines
        .next()?
        .split(' ')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let [stencils, code_bytes, data_bytes, templates] = counts[..] else {
        return None;
    };
    let mut holes = Vec::new();
    for item in lines.next()?.split(' ').filter(|s| !s.is_empty()) {
        let (kind, n) = item.split_once('=')?;
        let kind = PatchKind::ALL.into_iter().find(|k| k.variant() == kind)?;
        holes.push((kind, n.parse().ok()?));
    }
    let mut inputs = Vec::new();
    for line in lines {
        let (role, rest) = line.split_once(' ')?;
        let (hash, path) = rest.split_once('\t')?;
        if hash_file(Path::new(path))? != hash {
            return None;
        }
        if role == "in" {
            inputs.push(PathBuf::from(path));
        }
    }
    let report = Report {
        target,
        source: TableSource::Generated,
        output: output.to_path_buf(),
        compiled: 0,
        cached: templates,
        stencils,
        code_bytes,
        data_bytes,
        holes,
        elapsed: start.elapsed(),
        warnings: Vec::new(),
    };
    Some((report, inputs))
}

const HEADER: &str = "patchjit-build stamp v1";

/// Records a finished build: its report and the hashes of `inputs` and `outputs` as they are
/// now (written last, after the outputs).
pub fn record(
    stamp: &Path,
    report: &Report,
    inputs: &[PathBuf],
    outputs: &[&Path],
) -> Result<(), Error> {
    let mut text = format!(
        "{HEADER}\n{} {} {} {}\n",
        report.stencils,
        report.code_bytes,
        report.data_bytes,
        report.compiled + report.cached
    );
    let holes: Vec<String> = report
        .holes
        .iter()
        .map(|(kind, n)| format!("{}={n}", kind.variant()))
        .collect();
    text.push_str(&holes.join(" "));
    text.push('\n');
    let mut seen: HashSet<&Path> = HashSet::new();
    let files = inputs.iter().map(|p| ("in", p.as_path()));
    for (role, path) in files.chain(outputs.iter().map(|&p| ("out", p))) {
        if !seen.insert(path) {
            continue;
        }
        // A file that cannot be read now cannot be vouched for: no stamp.
        let Some(hash) = hash_file(path) else {
            return Ok(());
        };
        text.push_str(&format!("{role} {hash}\t{}\n", path.display()));
    }
    let dir = stamp.parent().expect("a stamp path has a directory");
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    crate::write_if_changed(stamp, text.as_bytes())
}

/// The SHA-256 of a regular file (an output sent to a FIFO or a device is never vouched for:
/// reading it back could block or see something else).
fn hash_file(path: &Path) -> Option<String> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    std::fs::read(path)
        .ok()
        .map(|bytes| hex::encode(Sha256::digest(bytes)))
}
