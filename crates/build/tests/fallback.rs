//! Without a usable clang the builder copies the committed table and says so; without one it
//! fails with a message naming what is missing. Own process: it sets `PATCHJIT_CLANG`.

mod support;

use patchjit_build::{Builder, Error, TableSource, Target};
use support::{scratch, template};

#[test]
fn missing_clang_uses_committed_tables_or_explains() {
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
