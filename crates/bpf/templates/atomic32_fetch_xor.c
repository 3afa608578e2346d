/* patchjit-variants: CHECKED=0,1 */
#include "bpf.h"
/* lock fetch xor [dst + off], src (32-bit) */
ATOMIC(4, u32u, uint32_t, old ^ v, 1)
