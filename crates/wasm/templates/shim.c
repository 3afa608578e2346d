#include "wasm.h"
/* The entry from Rust (C ABI): calls the function whose entry is `entry` with its `params`
 * arguments at `fp`; 0 when it returned (its result at fp[0]), 1 when it trapped. */
uint64_t _JIT_ENTRY(WasmCtx *ctx, uint64_t *fp, uint64_t params, void *entry) {
    return ((patchjit_stencil)entry)(fp + params, fp, 0, 0, ctx, 0);
}
