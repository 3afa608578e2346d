//! Outside a build script the builder's cache and `patchjit.h` copy live in a per-user directory
//! under the temporary directory: created with mode 0700, and refused when someone planted it
//! (a symlink, another owner, a mode others can write to). Own process: it sets `TMPDIR`.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use patchjit_build::{include_dir, private_temp_dir, Builder, DirProblem, Error, Target};

fn refused(expected: DirProblem) {
    let error = include_dir().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(&error, Error::UnsafeDir { problem, .. } if *problem == expected),
        "{error:?}"
    );
    assert!(message.contains("refusing to use it"), "{message}");
    // The builder's default cache is refused the same way.
    let out = tempfile::tempdir().unwrap();
    let error = Builder::new()
        .templates([support::template("add")])
        .target(Target::X86_64UnknownLinuxGnu)
        .out_path(out.path().join("stencils.rs"))
        .cargo_metadata(false)
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::UnsafeDir { .. }), "{error:?}");
}

#[test]
fn planted_private_dirs_are_refused() {
    assert!(std::env::var_os("OUT_DIR").is_none());
    let tmp = tempfile::tempdir().unwrap();
    std::env::set_var("TMPDIR", tmp.path());
    let uid = unsafe { libc::geteuid() };
    let private = tmp.path().join(format!("patchjit-{uid}"));

    // Made fresh: the user's own, mode 0700, holding patchjit.h.
    let dir = private_temp_dir().unwrap();
    assert_eq!(dir, private);
    let meta = std::fs::symlink_metadata(&dir).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o700));
    assert!(include_dir().unwrap().join("patchjit.h").is_file());
    std::fs::remove_dir_all(&dir).unwrap();

    // Writable by others.
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(DirProblem::Writable { mode: 0o777 });
    std::fs::remove_dir(&private).unwrap();

    // A symlink to a directory someone else controls.
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &private).unwrap();
    refused(DirProblem::Symlink);
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    std::fs::remove_file(&private).unwrap();

    // A file in its place.
    std::fs::write(&private, "").unwrap();
    refused(DirProblem::NotADirectory);
    std::fs::remove_file(&private).unwrap();

    // Owned by another user (only root can hand a directory to someone else).
    if uid == 0 {
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&private, Some(4242), None).unwrap();
        refused(DirProblem::Owner {
            owner: 4242,
            user: 0,
        });
    } else {
        eprintln!("skipped the other-owner case: handing a directory to another user needs root");
    }
}
