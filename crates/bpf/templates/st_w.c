/* patchjit-variants: CHECKED=0,1,2 D=0..=10 */
#include "bpf.h"
/* stw [dst + off], imm */
STORE(4, u32u, IMM32)
