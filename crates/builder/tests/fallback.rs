//! Without a usable clang the builder copies the committed table and says so; without one it
//! fails with a message naming what is missing; the CPython job reads `PATCHJIT_CLANG` the same
//! way. Own process: it sets `PATCHJIT_CLANG`.

mod support;

use patchjit_build::cpython::JobError;
use patchjit_build::{
    find_clang, find_tool, Builder, Error, TableSource, Target, ToolKind, Versions,
};
use support::{scratch, template};

/// Held by each test: they set `PATCHJIT_CLANG` for the whole process.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn missing_clang_uses_committed_tables_or_explains() {
    let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
    std::env::set_var("PATCHJIT_CLANG", "/nonexistent/clang");
    let dir = scratch("fallback");
    let committed = dir.join("committed");
    std::fs::create_dir_all(&committed).unwrap();
    let builder = || {
        Builder::new()
            .templates([template("add")])
            .target(Target::Aarch64UnknownLinuxGnu)
            .cache_dir(dir.join("cache"))
            .out_path(dir.join("out.rs"))
            .cargo_metadata(false)
    };

    let error = builder().build().unwrap_err();
    assert!(matches!(error, Error::Clang(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("PATCHJIT_CLANG=/nonexistent/clang cannot be run"),
        "{error}"
    );

    let error = builder().committed_tables(&committed).build().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("aarch64-unknown-linux-gnu.rs is missing"),
        "{message}"
    );

    // An old clang is refused plainly.
    let old = dir.join("clang-18");
    std::fs::write(
        &old,
        "#!/bin/sh\necho 'Ubuntu clang version 18.1.3 (1ubuntu1)'\n",
    )
    .unwrap();
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::env::set_var("PATCHJIT_CLANG", &old);
    let message = builder().build().unwrap_err().to_string();
    assert!(
        message.contains("is too old (Ubuntu clang version 18.1.3 (1ubuntu1)); patchjit templates need clang 19 or newer"),
        "{message}"
    );
    std::env::set_var("PATCHJIT_CLANG", "/nonexistent/clang");

    let table = "// a committed table\n";
    std::fs::write(committed.join("aarch64-unknown-linux-gnu.rs"), table).unwrap();
    let report = builder().committed_tables(&committed).build().unwrap();
    assert_eq!(report.source, TableSource::Committed);
    assert_eq!(std::fs::read_to_string(dir.join("out.rs")).unwrap(), table);
}

/// The template builder and the CPython job find clang through the same finder: the variable
/// is obeyed (never passed over for something on PATH), checked to run and to have a version
/// each accepts: 19 or newer for templates, exactly LLVM 19 for CPython 3.14.
#[test]
fn patchjit_clang_means_the_same_to_the_builder_and_the_cpython_job() {
    let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
    let dir = scratch("finder");
    let tree = dir.join("cpython");
    for (path, text) in [
        ("Python/executor_cases.c.h", ""),
        ("Python/jit.c", ""),
        ("Tools/jit/template.c", ""),
        ("pyconfig.h", ""),
    ] {
        let path = tree.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let job = patchjit_build::cpython::Job {
        triples: vec!["x86_64-unknown-linux-gnu".to_string()],
        output_dir: dir.join("out"),
        pyconfig_dir: tree.clone(),
        cpython_root: Some(tree),
        cflags: String::new(),
        debug: false,
        force: false,
        verbose: false,
        command: "test".to_string(),
        jobs: 1,
        cache_dir: None,
        precompiled_header: false,
        code_comments: patchjit_build::cpython::CodeComments::Objdump { fallback: false },
    };
    let clang_20 = dir.join("clang-20");
    std::fs::write(
        &clang_20,
        "#!/bin/sh\necho 'Ubuntu clang version 20.1.2 (0ubuntu1)'\n",
    )
    .unwrap();
    std::fs::set_permissions(
        &clang_20,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    std::env::set_var("PATCHJIT_CLANG", "/nonexistent/clang");
    let builder = find_clang(None).unwrap_err();
    let job_error = patchjit_build::cpython::run(&job, &|_| {}).unwrap_err();
    assert!(
        matches!(&job_error, JobError::Tool(problem) if problem.from_env()),
        "{job_error:?}"
    );
    for message in [builder.to_string(), job_error.to_string()] {
        assert!(
            message.starts_with("PATCHJIT_CLANG=/nonexistent/clang cannot be run ("),
            "{message}"
        );
    }

    std::env::set_var("PATCHJIT_CLANG", &clang_20);
    assert_eq!(find_clang(None).unwrap().major, 20);
    let message = patchjit_build::cpython::run(&job, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("is Ubuntu clang version 20.1.2 (0ubuntu1); this build needs LLVM 19"),
        "{message}"
    );
    let exact = find_tool(ToolKind::Clang, Versions::Exactly(19), None).unwrap_err();
    assert_eq!(exact.to_string(), message);
    std::env::set_var("PATCHJIT_CLANG", "/nonexistent/clang");
}
