/* patchjit-variants: CHECKED=0,1,2 D=0..=10 */
#include "bpf.h"
/* stdw [dst + off], imm */
STORE(8, u64u, IMM)
