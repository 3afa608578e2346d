/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxw dst, [src + off] */
LOAD(4, u32u, (uint64_t))
