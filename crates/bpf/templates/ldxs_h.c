#include "bpf.h"
/* ldxsh dst, [src + off]: sign-extending */
LOAD(2, u16u, (uint64_t)(int64_t)(int16_t))
