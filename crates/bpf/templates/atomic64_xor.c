/* patchjit-variants: CHECKED=0,1 */
#include "bpf.h"
/* lock xor [dst + off], src (64-bit) */
ATOMIC(8, u64u, uint64_t, old ^ v, 0)
