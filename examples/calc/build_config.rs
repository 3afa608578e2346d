// The stencil build of the calc language, shared by build.rs and the freshness test (which
// regenerates the committed tables with the same configuration).

/// The templates in a stable order, as paths relative to the crate root.
const TEMPLATES: [&str; 17] = [
    "templates/add.c",
    "templates/div.c",
    "templates/dup.c",
    "templates/eq.c",
    "templates/error_exit.c",
    "templates/fail.c",
    "templates/isqrt.c",
    "templates/jump.c",
    "templates/jump_if_zero.c",
    "templates/load.c",
    "templates/lt.c",
    "templates/mul.c",
    "templates/push.c",
    "templates/ret.c",
    "templates/shim.c",
    "templates/store.c",
    "templates/sub.c",
];

/// The builder for the calc templates under `root` (the crate's directory).
fn calc_builder(root: &std::path::Path) -> patchjit_build::Builder {
    patchjit_build::Builder::new()
        .templates(TEMPLATES.iter().map(|t| root.join(t)))
        .allow_symbols(["calc_isqrt"])
        .shims(["shim"])
        .committed_tables(root.join("stencils"))
}
