/* patchjit-variants: OP=0..=8 */
#include "wasm.h"
/* A load at the popped address + OPERAND0 (the static offset): a 33-bit effective address,
 * checked explicitly against the memory's length. OP: 32 bits zero-extended (i32.load,
 * f32.load, i64.load32_u), 64 bits, 8 bits signed to i32, 8 bits unsigned, 16 bits signed to
 * i32, 16 bits unsigned, then 8, 16 and 32 bits signed to i64. */
PATCHJIT_STENCIL {
    static const uint64_t sizes[] = {4, 8, 1, 1, 2, 2, 1, 2, 4};
    uint64_t ea = (uint64_t)(uint32_t)tos + PATCHJIT_OPERAND0_U32, r = 0;
    if (__builtin_expect(ea + sizes[OP] > memsize, 0)) TRAP();
    const uint8_t *p = mem + ea;
    switch (OP) {
    case 0: r = *(const u32u *)p; break;
    case 1: r = *(const u64u *)p; break;
    case 2: r = (uint32_t)(int32_t)(int8_t)*p; break;
    case 3: r = *p; break;
    case 4: r = (uint32_t)(int32_t)(int16_t)*(const u16u *)p; break;
    case 5: r = *(const u16u *)p; break;
    case 6: r = (uint64_t)(int64_t)(int8_t)*p; break;
    case 7: r = (uint64_t)(int64_t)(int16_t)*(const u16u *)p; break;
    case 8: r = (uint64_t)(int64_t)(int32_t)*(const u32u *)p; break;
    }
    tos = r;
    NEXT();
}
