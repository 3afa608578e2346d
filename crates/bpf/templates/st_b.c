/* patchjit-variants: CHECKED=0,1,2 D=0..=10 */
#include "bpf.h"
/* stb [dst + off], imm */
STORE(1, u8u, IMM32)
