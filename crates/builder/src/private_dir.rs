//! The per-user directory under the temporary directory that holds patchjit's fallbacks (the
//! compile cache and the copy of `patchjit.h` outside a build script). A name every user would
//! share (`/tmp/patchjit-cache`) lets another user plant objects or a symlink there, so the
//! directory is the user's own, created with mode 0700, and checked before every use.

use std::fmt;
use std::path::PathBuf;

use crate::Error;

/// Why a directory that should be the current user's private one is not used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirProblem {
    /// A symbolic link (to wherever its creator chose).
    Symlink,
    /// Something else (a file, a FIFO) already has the name.
    NotADirectory,
    /// Owned by another user.
    Owner {
        /// The directory owner's uid.
        owner: u32,
        /// The current user's uid.
        user: u32,
    },
    /// Others could add or replace files in it.
    Writable {
        /// Its permission bits.
        mode: u32,
    },
}

impl fmt::Display for DirProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirProblem::Symlink => write!(f, "it is a symbolic link"),
            DirProblem::NotADirectory => write!(f, "it is not a directory"),
            DirProblem::Owner { owner, user } => {
                write!(f, "it is owned by uid {owner}, not by you (uid {user})")
            }
            DirProblem::Writable { mode } => {
                write!(f, "it is writable by group or others (mode {mode:04o})")
            }
        }
    }
}

/// `<temp>/patchjit-<uid>`: created with mode 0700 if missing, then checked to be a real
/// directory owned by the current user that nobody else can write to; otherwise an
/// [`Error::UnsafeDir`] (someone else may have planted it).
#[cfg(unix)]
pub fn private_temp_dir() -> Result<PathBuf, Error> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};

    // SAFETY: geteuid has no preconditions and cannot fail.
    let user = unsafe { libc::geteuid() };
    let dir = std::env::temp_dir().join(format!("patchjit-{user}"));
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(&dir, e)),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(|e| Error::io(&dir, e))?;
    let problem = if meta.file_type().is_symlink() {
        Some(DirProblem::Symlink)
    } else if !meta.is_dir() {
        Some(DirProblem::NotADirectory)
    } else if meta.uid() != user {
        Some(DirProblem::Owner {
            owner: meta.uid(),
            user,
        })
    } else if meta.mode() & 0o022 != 0 {
        Some(DirProblem::Writable {
            mode: meta.mode() & 0o7777,
        })
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::UnsafeDir { path: dir, problem }),
        None => Ok(dir),
    }
}

/// `<temp>/patchjit`: the temporary directory is already the user's own where there are no Unix
/// permissions (Windows' is under the user's profile).
#[cfg(not(unix))]
pub fn private_temp_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join("patchjit");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}
