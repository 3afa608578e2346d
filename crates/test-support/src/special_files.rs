//! Device nodes, FIFOs, a closed pipe and a full disk: where the tests of writing outputs
//! (patchjit-build's and the CLI's) point them.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// Creates a character device like `/dev/null` at `path` and returns its device number, or
/// None (saying so) when not root, which only root can do.
pub fn make_null_device(path: &Path) -> Option<u64> {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: creating a device node needs root");
        return None;
    }
    let rdev = libc::makedev(1, 3);
    let made = unsafe { libc::mknod(c_path(path).as_ptr(), libc::S_IFCHR | 0o666, rdev) };
    assert_eq!(made, 0, "mknod: {}", std::io::Error::last_os_error());
    // dev_t is u64 on Linux and i32 on macOS; `MetadataExt::rdev` reports a u64 on both.
    #[allow(clippy::unnecessary_cast)]
    Some(rdev as u64)
}

pub fn make_fifo(path: &Path) {
    let made = unsafe { libc::mkfifo(c_path(path).as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// Reads a FIFO to its end on another thread (opening it blocks until a writer comes).
pub fn read_later(fifo: &Path) -> std::thread::JoinHandle<String> {
    let fifo = fifo.to_path_buf();
    std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
}

/// The type of `path` itself (a symlink is not followed).
pub fn file_type(path: &Path) -> std::fs::FileType {
    std::fs::symlink_metadata(path).unwrap().file_type()
}

/// The device number of the node at `path`.
pub fn rdev(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::rdev(&std::fs::symlink_metadata(path).unwrap())
}

/// The writing end of a pipe whose reader is already gone: every write fails with EPIPE.
pub fn closed_pipe() -> std::fs::File {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    unsafe { std::os::fd::FromRawFd::from_raw_fd(fds[1]) }
}

/// `/dev/full`, where every write fails with ENOSPC.
pub fn full_disk() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}
