/* Every built-in hole value (and a client-defined one, COUNTER), plus jump and error targets and
 * the trailing jump to the continuation. */
#include "jit.h"

STENCIL(_JIT_ENTRY) {
    PATCH_VALUE(uint16_t, oparg, _JIT_OPARG);
#if UINTPTR_MAX > 0xFFFFFFFFu
    PATCH_VALUE(uint64_t, operand0, _JIT_OPERAND0);
    PATCH_VALUE(uint64_t, operand1, _JIT_OPERAND1);
    sp[1] = operand0;
    sp[2] = operand1;
#else
    PATCH_VALUE(uint32_t, operand0_lo, _JIT_OPERAND0_LO);
    PATCH_VALUE(uint32_t, operand0_hi, _JIT_OPERAND0_HI);
    PATCH_VALUE(uint32_t, operand1_lo, _JIT_OPERAND1_LO);
    PATCH_VALUE(uint32_t, operand1_hi, _JIT_OPERAND1_HI);
    sp[1] = operand0_lo;
    sp[2] = operand0_hi;
    sp[6] = operand1_lo;
    sp[7] = operand1_hi;
#endif
    PATCH_VALUE(uint32_t, target, _JIT_TARGET);
    PATCH_VALUE(uintptr_t, executor, _JIT_EXECUTOR);
    PATCH_VALUE(uintptr_t, counter, _JIT_COUNTER);
    sp[0] = oparg;
    sp[3] = target;
    sp[4] = executor;
    sp[5] = counter;
    if (frame[0] == 0) {
        PATCH_JUMP(_JIT_JUMP_TARGET);
    }
    if (frame[1] == 0) {
        PATCH_JUMP(_JIT_ERROR_TARGET);
    }
    PATCH_JUMP(_JIT_CONTINUE);
}
