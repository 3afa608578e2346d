/* patchjit-variants: OP=0..=3 LAST=0,1 */
#include "wasm.h"
/* A store of the popped value's low 32, 64, 8 or 16 bits (OP) at the popped address +
 * OPERAND0, checked like a load; nothing is written when it traps. LAST: the stack is empty
 * after (no operand to reload). */
PATCHJIT_STENCIL {
    static const uint64_t sizes[] = {4, 8, 1, 2};
    uint64_t v = tos;
    uint64_t ea = (uint64_t)(uint32_t)sp[-1] + PATCHJIT_OPERAND0_U32;
    if (__builtin_expect(ea + sizes[OP] > memsize, 0)) TRAP();
    uint8_t *p = mem + ea;
    switch (OP) {
    case 0: *(u32u *)p = (uint32_t)v; break;
    case 1: *(u64u *)p = v; break;
    case 2: *p = (uint8_t)v; break;
    case 3: *(u16u *)p = (uint16_t)v; break;
    }
    if (!LAST) {
        tos = sp[-2];
    }
    sp -= 2;
    NEXT();
}
