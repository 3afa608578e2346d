/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxdw dst, [src + off] */
LOAD(8, u64u, (uint64_t))
