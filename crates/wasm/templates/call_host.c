#include "wasm.h"
/* call of a host function (store address OPERAND0): through the Rust side. */
PATCHJIT_STENCIL {
    *sp++ = tos;
    uint64_t *args = sp - (OPARG32 & 0xffff);
    if (__builtin_expect(wasm_jit_call_host(ctx, PATCHJIT_OPERAND0, args) != 0, 0)) TRAP();
    RESULT(args);
    NEXT();
}
