#include "bpf.h"
/* ldxsb dst, [r10 + off]: sign-extending */
LOAD_FRAME(u8u, (uint64_t)(int64_t)(int8_t))
