/* patchjit-variants: CHECKED=0,1,2 D=0..=10 S=0..=10 */
#include "bpf.h"
/* stxh [dst + off], src */
STORE(2, u16u, SRC)
