/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxb dst, [src + off] */
LOAD(1, u8u, (uint64_t))
