/* Narrow values as patchjit.h declares them on x86-64 ELF: in an explicit section, so "small"
 * under -mcmodel=medium -mlarge-data-threshold=0, and materialised with `movl $imm32`
 * (R_X86_64_32). Elsewhere they are ordinary weak values. */
#include <stdint.h>

#if defined(__x86_64__) && defined(__ELF__)
#define NARROW __attribute__((weak, section(".patchjit.narrow")))
#else
#define NARROW __attribute__((weak))
#endif
extern NARROW char _JIT_OPERAND0_S32[], _JIT_OPARG_U16[];

int64_t _JIT_ENTRY(int64_t x, int64_t *p) {
    return x + (int32_t)(uintptr_t)_JIT_OPERAND0_S32 + p[(uint16_t)(uintptr_t)_JIT_OPARG_U16];
}
