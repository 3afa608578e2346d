//! `write_if_changed` on what an output path can be besides a regular file: a device node and a
//! FIFO are written through and stay what they are, a symlink keeps pointing at its target,
//! which gets the bytes, and a directory is refused.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use patchjit_build::write_if_changed;
use patchjit_test_support::special_files::{
    file_type, make_fifo, make_null_device, rdev, read_later,
};

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn a_device_node_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let Some(device) = make_null_device(&node) else {
        return;
    };
    write_if_changed(&node, b"table\n").unwrap();
    write_if_changed(&node, b"table\n").unwrap();
    assert!(file_type(&node).is_char_device());
    assert_eq!(rdev(&node), device);
    assert_eq!(entries(dir.path()), 1, "files left aside");
}

#[test]
fn a_fifo_is_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    make_fifo(&fifo);
    let reader = read_later(&fifo);
    write_if_changed(&fifo, b"through the pipe\n").unwrap();
    assert_eq!(reader.join().unwrap(), "through the pipe\n");
    assert!(file_type(&fifo).is_fifo());
    assert_eq!(entries(dir.path()), 1, "files left aside");
}

#[test]
fn a_symlink_stays_and_its_target_gets_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let target = dir.path().join("real/stencils.rs");
    std::fs::write(&target, "old\n").unwrap();
    let link = dir.path().join("stencils.rs");
    std::os::unix::fs::symlink("real/stencils.rs", &link).unwrap();
    write_if_changed(&link, b"new\n").unwrap();
    assert!(file_type(&link).is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");

    // A dangling link: its target is created, the link kept.
    let dangling = dir.path().join("later.rs");
    std::os::unix::fs::symlink("real/later.rs", &dangling).unwrap();
    write_if_changed(&dangling, b"created\n").unwrap();
    assert!(file_type(&dangling).is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("real/later.rs")).unwrap(),
        "created\n"
    );

    // A link to a FIFO is written through like the FIFO itself.
    let fifo = dir.path().join("real/pipe");
    make_fifo(&fifo);
    let to_fifo = dir.path().join("pipe-link");
    std::os::unix::fs::symlink(&fifo, &to_fifo).unwrap();
    let reader = read_later(&fifo);
    write_if_changed(&to_fifo, b"piped\n").unwrap();
    assert_eq!(reader.join().unwrap(), "piped\n");
    assert!(file_type(&to_fifo).is_symlink());
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let message = write_if_changed(dir.path(), b"x").unwrap_err().to_string();
    assert!(
        message.contains("is a directory, not a file; refusing to write there"),
        "{message}"
    );
    assert!(dir.path().is_dir());
}
