/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxsw dst, [src + off]: sign-extending */
LOAD(4, u32u, (uint64_t)(int64_t)(int32_t))
