#include "wasm.h"
/* call_indirect: the Rust side checks the element and its signature (OPERAND0: table address
 * << 32 | the interned type id) and calls a host function itself; a wasm function it returns
 * is called here. */
PATCHJIT_STENCIL {
    /* The index is `tos`; the arguments are all in memory already. */
    uint64_t index = (uint32_t)tos;
    uint64_t *args = sp - (OPARG32 & 0xffff);
    void *callee = wasm_jit_indirect(ctx, PATCHJIT_OPERAND0, index, args);
    if (callee == 0) {
        if (__builtin_expect(ctx->trap_kind != 0, 0)) TRAP();
        RESULT(args);
        NEXT();
    }
    WASM_CALL(callee);
    NEXT();
}
