/* patchjit-variants: CHECKED=0,1 */
#include "bpf.h"
/* cmpxchg [dst + off], src (64-bit) */
CMPXCHG(8, u64u, uint64_t)
