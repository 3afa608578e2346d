#include "bpf.h"
/* call imm of a plain helper (`Helpers::register_plain`): operand 0 is the function itself,
 * called with r1-r5 like any C function; nothing can fault. */
typedef uint64_t (*bpf_plain_helper)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
PATCHJIT_STENCIL {
    /* Through a register: called as a symbol, the value would become a rel32 call, which
     * cannot reach an arbitrary address. */
    uint64_t f = WIDE;
    __asm__("" : "+r"(f));
    r0 = ((bpf_plain_helper)(uintptr_t)f)(r1, r2, r3, r4, r5);
    CLOBBER_ARGUMENTS();
    NEXT();
}
