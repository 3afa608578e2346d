/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxsh dst, [src + off]: sign-extending */
LOAD(2, u16u, (uint64_t)(int64_t)(int16_t))
