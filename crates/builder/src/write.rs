//! Writing generated files: unchanged files are left alone (their mtimes too), regular files
//! are replaced atomically, and whatever else an output path names (a symlink, a device, a FIFO)
//! is written through rather than renamed over.

use std::path::{Path, PathBuf};

use crate::{compile, Error};

/// Writes `bytes` unless the file already holds exactly them (keeps mtimes, so Cargo and
/// build systems see no change).
/// A regular file is replaced atomically (written aside, then renamed), so a concurrent reader
/// sees the old or the new contents, never a part. A symlink is followed and its target written
/// (the link stays); a character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is
/// written through, never renamed over. Anything else (a directory, a block device, a socket)
/// is refused.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    update_file(path, bytes).map_err(|(path, error)| Error::Io { path, error })
}

/// [`write_if_changed`] with the failing path beside the error, for callers with their own
/// error type.
pub(crate) fn update_file(path: &Path, bytes: &[u8]) -> Result<(), IoAt> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            if std::fs::read(path).is_ok_and(|old| old == bytes) {
                return Ok(());
            }
            let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                // Rename over the link's target, not over the link.
                let target = std::fs::canonicalize(path).map_err(at(path))?;
                replace(&target, bytes)
            } else {
                replace(path, bytes)
            }
        }
        Ok(meta) if is_stream(&meta.file_type()) => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
            .map_err(at(path)),
        Ok(meta) => Err(at(path)(std::io::Error::other(format!(
            "is {}, not a file; refusing to write there",
            describe(&meta.file_type())
        )))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            replace(&dangling_target(path)?, bytes)
        }
        Err(e) => Err(at(path)(e)),
    }
}

/// An I/O error and the path it happened on.
type IoAt = (PathBuf, std::io::Error);

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> IoAt + '_ {
    move |error| (path.to_path_buf(), error)
}

/// Writes `bytes` aside and renames the file over `path` (a regular file or nothing).
fn replace(path: &Path, bytes: &[u8]) -> Result<(), IoAt> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(at(parent))?;
    }
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".{}.tmp", compile::unique_suffix()));
    let aside = PathBuf::from(aside);
    std::fs::write(&aside, bytes).map_err(at(&aside))?;
    std::fs::rename(&aside, path).map_err(|e| {
        let _ = std::fs::remove_file(&aside);
        (path.to_path_buf(), e)
    })
}

/// Where a path that does not exist gets created: itself, or, if it is a dangling symlink, the
/// path the link (chain) points at, so the link stays a link.
fn dangling_target(path: &Path) -> Result<PathBuf, IoAt> {
    let mut path = path.to_path_buf();
    // Linux's own limit on links followed in one lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&path).map_err(at(&path))?;
                path = match path.parent() {
                    Some(parent) => parent.join(target),
                    None => target,
                };
            }
            _ => return Ok(path),
        }
    }
    Err((
        path,
        std::io::Error::other("too many levels of symbolic links"),
    ))
}

/// Whether writing means sending bytes through (a character device or a FIFO), not storing them.
fn is_stream(file_type: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file_type.is_char_device() || file_type.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = file_type;
        false
    }
}

/// What a file that is neither a regular file nor a stream is, for an error message.
fn describe(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}
