//! The compile cache: a no-op rebuild runs no compiler at all, a changed header recompiles the
//! templates including it, and the same inputs give byte-identical output. Runs in its own
//! process because it points `PATCHJIT_CLANG` at a counting wrapper.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use patchjit_build::{find_clang, Builder, Target};
use support::{scratch, template};

fn invocations(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

#[test]
fn no_op_rebuild_runs_no_compiler_and_output_is_deterministic() {
    let real = find_clang(None).expect("clang 19+ (set PATCHJIT_CLANG)");
    let dir = scratch("cache");
    let log = dir.join("invocations.log");
    let wrapper = dir.join("clang-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.path.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::env::set_var("PATCHJIT_CLANG", &wrapper);

    // A private header the templates include, so editing it must invalidate the cache.
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("extra.h"), "#define BIAS 1\n").unwrap();
    let common = template("add").parent().unwrap().join("common.h");
    let body = |bias: &str| {
        format!(
            "#include \"{}\"\n#include \"extra.h\"\nPATCHJIT_STENCIL {{ acc += {bias}; PATCHJIT_CONTINUE(); }}\n",
            common.display()
        )
    };
    std::fs::write(src.join("one.c"), body("BIAS")).unwrap();
    std::fs::write(src.join("two.c"), body("2")).unwrap();

    let build = |out: &str| {
        Builder::new()
            .templates([src.join("one.c"), src.join("two.c")])
            .target(Target::X86_64UnknownLinuxGnu)
            .cache_dir(dir.join("cache"))
            .out_path(dir.join(out))
            .cargo_metadata(false)
            .build()
            .unwrap()
    };
    let first = build("a.rs");
    assert_eq!((first.compiled, first.cached), (2, 0));
    let after_first = invocations(&log);
    assert_eq!(after_first, 3, "--version once, then two compilations");

    let second = build("b.rs");
    assert_eq!((second.compiled, second.cached), (0, 2));
    assert_eq!(
        invocations(&log),
        after_first,
        "a no-op rebuild ran the compiler"
    );
    let a = std::fs::read(dir.join("a.rs")).unwrap();
    assert_eq!(a, std::fs::read(dir.join("b.rs")).unwrap());

    // Editing a header both templates include recompiles both.
    std::fs::write(src.join("extra.h"), "#define BIAS 3\n").unwrap();
    let third = build("c.rs");
    assert_eq!((third.compiled, third.cached), (2, 0));
    assert_eq!(invocations(&log), after_first + 2);
    assert_ne!(a, std::fs::read(dir.join("c.rs")).unwrap());

    // clang's warnings are kept with the cached object.
    std::fs::write(
        src.join("one.c"),
        body("BIAS") + "static int unused(void) { return 1; }\n",
    )
    .unwrap();
    let warned = |out: &str| {
        Builder::new()
            .templates([src.join("one.c")])
            .target(Target::X86_64UnknownLinuxGnu)
            .cache_dir(dir.join("cache"))
            .cargo_metadata(false)
            .flag("-Wunused-function")
            .out_path(dir.join(out))
            .generate_with(&find_clang(None).unwrap(), &|_| {})
            .unwrap()
    };
    for out in ["w1.rs", "w2.rs"] {
        let generated = warned(out);
        assert_eq!(generated.report.warnings.len(), 1, "{out}");
        assert!(
            generated.report.warnings[0]
                .1
                .contains("unused function 'unused'"),
            "{:?}",
            generated.report.warnings
        );
    }
    std::fs::write(src.join("one.c"), body("BIAS")).unwrap();
    let before = invocations(&log);

    // Editing one template recompiles only it.
    std::fs::write(src.join("two.c"), body("5")).unwrap();
    let fourth = build("d.rs");
    assert_eq!((fourth.compiled, fourth.cached), (1, 1));
    assert_eq!(invocations(&log), before + 1);
}
