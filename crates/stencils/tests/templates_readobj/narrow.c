/* Narrow values as patchjit.h gives them on ELF: on x86-64 in an explicit section, so "small"
 * under -mcmodel=medium -mlarge-data-threshold=0 and materialised with `movl $imm32`
 * (R_X86_64_32); on AArch64 a `movz` with a checked relocation (R_AARCH64_MOVW_UABS_G0). */
#include <stdint.h>

#if defined(__aarch64__)
#define U16(NAME) ({ uint64_t v_; __asm__("movz %0, #:abs_g0:" #NAME : "=r"(v_)); v_; })
#define S32(NAME) U16(NAME)
#else
extern __attribute__((weak, section(".patchjit.narrow"))) char _JIT_OPERAND0_S32[],
    _JIT_OPARG_U16[];
#define U16(NAME) ((uintptr_t)NAME)
#define S32(NAME) ((uintptr_t)NAME)
#endif

int64_t _JIT_ENTRY(int64_t x, int64_t *p) {
    return x + (int32_t)S32(_JIT_OPERAND0_S32) + p[(uint16_t)U16(_JIT_OPARG_U16)];
}
