#include "wasm.h"
/* memory.grow of memory OPERAND0 (store address): the old size or -1, then the memory
 * registers from its view (OPERAND1), which the Rust side rewrote. */
PATCHJIT_STENCIL {
    tos = wasm_jit_memory_grow(ctx, PATCHJIT_OPERAND0, (uint32_t)tos);
    RELOAD(PATCHJIT_OPERAND1);
    NEXT();
}
