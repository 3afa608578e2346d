#include "wasm.h"
/* A function's entry, called with fp at its arguments and sp after them: traps with
 * exhaustion when its frame (OPERAND0 bytes: locals, the spare slot and the most operands)
 * would pass the
 * value stack's end, zeroes the OPARG declared locals, and loads the instance's memory
 * (OPERAND1, its view). */
PATCHJIT_STENCIL {
    if (__builtin_expect((char *)fp + PATCHJIT_OPERAND0_I32 > (char *)ctx->stack_end, 0)) {
        ctx->trap_kind = WASM_TRAP_EXHAUSTED;
        TRAP();
    }
    for (uint32_t i = 0; i < OPARG32; i++) {
        /* Keeps clang from turning the loop into a memset call. */
        __asm__("" ::: "memory");
        *sp++ = 0;
    }
    RELOAD(PATCHJIT_OPERAND1);
    NEXT();
}
