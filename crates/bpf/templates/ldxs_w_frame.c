#include "bpf.h"
/* ldxsw dst, [r10 + off]: sign-extending */
LOAD_FRAME(u32u, (uint64_t)(int64_t)(int32_t))
