/* patchjit-variants: CHECKED=0,1,2 D=0..=10 */
#include "bpf.h"
/* sth [dst + off], imm */
STORE(2, u16u, IMM32)
