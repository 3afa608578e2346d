/* patchjit-variants: CHECKED=0,1 */
#include "bpf.h"
/* cmpxchg [dst + off], src (32-bit) */
CMPXCHG(4, u32u, uint32_t)
