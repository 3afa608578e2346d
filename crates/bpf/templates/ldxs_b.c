/* patchjit-variants: CHECKED=0,1,2 D=0..=9 S=0..=10 */
#include "bpf.h"
/* ldxsb dst, [src + off]: sign-extending */
LOAD(1, u8u, (uint64_t)(int64_t)(int8_t))
