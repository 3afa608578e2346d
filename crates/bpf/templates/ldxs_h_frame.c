#include "bpf.h"
/* ldxsh dst, [r10 + off]: sign-extending */
LOAD_FRAME(u16u, (uint64_t)(int64_t)(int16_t))
