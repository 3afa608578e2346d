/* patchjit-variants: CHECKED=0,1,2 D=0..=10 S=0..=10 */
#include "bpf.h"
/* stxw [dst + off], src */
STORE(4, u32u, SRC)
