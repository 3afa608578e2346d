#include "bpf.h"
/* ldxsw dst, [src + off]: sign-extending */
LOAD(4, u32u, (uint64_t)(int64_t)(int32_t))
