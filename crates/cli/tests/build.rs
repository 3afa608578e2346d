//! `patchjit build -o` onto outputs that are not regular files: a device node, a FIFO and a
//! symlink are each still there, of the same type, after the table is written.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use patchjit_test_support::special_files::{
    closed_pipe, file_type, full_disk, make_fifo, make_null_device, rdev, read_later,
};

fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../builder/tests/templates/add.c")
}

/// `patchjit build` of one template into `output`, with its own cache; asserts success.
fn build_to(output: &Path, cache: &Path) {
    let run: Output = Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .args([
            "build",
            "--quiet",
            "--target",
            "x86_64-unknown-linux-gnu",
            "-o",
        ])
        .arg(output)
        .arg("--cache-dir")
        .arg(cache)
        .arg(template())
        .output()
        .expect("run patchjit");
    assert!(
        run.status.success(),
        "patchjit build failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn output_to_a_device_node_keeps_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = dir.path().join("null");
    let Some(device) = make_null_device(&node) else {
        return;
    };
    build_to(&node, &dir.path().join("cache"));
    assert!(file_type(&node).is_char_device());
    assert_eq!(rdev(&node), device);
}

#[test]
fn output_to_a_fifo_sends_the_table_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("table");
    make_fifo(&fifo);
    let reader = read_later(&fifo);
    build_to(&fifo, &dir.path().join("cache"));
    let table = reader.join().unwrap();
    assert!(table.contains("pub const ADD: u16 = 0;"), "{table}");
    assert!(file_type(&fifo).is_fifo());
}

#[test]
fn output_to_a_symlink_writes_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("committed.rs");
    std::fs::write(&target, "stale\n").unwrap();
    let link = dir.path().join("stencils.rs");
    std::os::unix::fs::symlink("committed.rs", &link).unwrap();
    build_to(&link, &dir.path().join("cache"));
    assert!(file_type(&link).is_symlink());
    let table = std::fs::read_to_string(&target).unwrap();
    assert!(table.contains("pub const ADD: u16 = 0;"), "{table}");
}

#[test]
fn a_planted_cache_fallback_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let uid = unsafe { libc::geteuid() };
    let planted = tmp.path().join(format!("patchjit-{uid}"));
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_patchjit"))
        .args(["build", "--target", "x86_64-unknown-linux-gnu"])
        .arg(template())
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env("TMPDIR", tmp.path())
        .output()
        .expect("run patchjit");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("refusing to use it: it is writable by group or others (mode 0777)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&planted).unwrap().count(), 0);
}

#[test]
fn a_table_on_stdout_handles_a_closed_pipe_and_a_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    let build = |stdout: std::fs::File| {
        Command::new(env!("CARGO_BIN_EXE_patchjit"))
            .args(["build", "--quiet", "--target", "x86_64-unknown-linux-gnu"])
            .arg("--cache-dir")
            .arg(dir.path())
            .arg(template())
            .stdout(stdout)
            .output()
            .expect("run patchjit")
    };
    let run = build(full_disk());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "patchjit: error: writing to stdout: No space left on device (os error 28)\n"
    );

    let run = build(closed_pipe());
    assert_eq!(run.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&run.stderr), "");
}

/// `patchjit build` of one template with stderr on a pipe, or on a terminal (through `script`).
fn build_progress(on_terminal: bool) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut command = vec![
        env!("CARGO_BIN_EXE_patchjit").to_string(),
        "build".to_string(),
        "--target=x86_64-unknown-linux-gnu".to_string(),
        format!("--cache-dir={}", dir.path().display()),
        format!("--output={}", dir.path().join("out.rs").display()),
        template().display().to_string(),
    ];
    let run = if on_terminal {
        let line = shlex::try_join(command.iter().map(String::as_str)).unwrap();
        match Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .output()
        {
            Ok(run) => run,
            Err(e) => {
                eprintln!("skipped the terminal case: cannot run script(1): {e}");
                return None;
            }
        }
    } else {
        let program = command.remove(0);
        Command::new(program).args(command).output().unwrap()
    };
    assert!(run.status.success(), "{run:?}");
    // script(1) puts the terminal's output (stdout and stderr) on its stdout.
    let text = if on_terminal { run.stdout } else { run.stderr };
    Some(String::from_utf8(text).unwrap())
}

#[test]
fn progress_bar_only_on_a_terminal() {
    let piped = build_progress(false).unwrap();
    let lines: Vec<&str> = piped.lines().collect();
    assert_eq!(lines.len(), 2, "{piped}");
    assert!(
        lines[0].starts_with("patchjit: x86_64-unknown-linux-gnu: compiling 1 templates with "),
        "{piped}"
    );
    assert!(lines[1].starts_with("1 stencils,"), "{piped}");
    assert!(!piped.contains('\r') && !piped.contains("1/1"), "{piped}");

    if let Some(terminal) = build_progress(true) {
        assert!(terminal.contains("] 1/1 "), "{terminal:?}");
        assert!(terminal.contains("1 stencils,"), "{terminal:?}");
    }
}

#[test]
fn check_reports_where_a_committed_table_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stencils.rs");
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_patchjit"))
            .args([
                "build",
                "--quiet",
                "--check",
                "--target=x86_64-unknown-linux-gnu",
            ])
            .arg("-o")
            .arg(&out)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg(template())
            .output()
            .unwrap()
    };
    let missing = check();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("(nothing to check)"));

    build_to(&out, &dir.path().join("cache"));
    let fresh = check();
    assert!(fresh.status.success(), "{fresh:?}");

    let table = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&out, table.replacen("\\x48", "\\x49", 1)).unwrap();
    let stale = check();
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert_eq!(stale.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stencils.rs is stale: from line "),
        "{stderr}"
    );
    assert!(
        stderr.contains("first difference in stencil add"),
        "{stderr}"
    );
}
