// The stencil build of the WebAssembly JIT, shared by build.rs and the freshness test (which
// regenerates the committed tables with the same configuration).

/// The builder for every `templates/*.c` under `root` (the crate's directory), in name order.
fn jit_builder(root: &std::path::Path) -> patchjit_build::Builder {
    let dir = root.join("templates");
    let mut templates: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "c"))
        .collect();
    templates.sort();
    patchjit_build::Builder::new()
        .templates(templates)
        .allow_symbols(HELPERS)
        .shims(["shim"])
        .committed_tables(root.join("stencils"))
}

/// The Rust functions the templates call (`templates/wasm.h`).
const HELPERS: [&str; 3] = ["wasm_jit_call_host", "wasm_jit_indirect", "wasm_jit_memory_grow"];
