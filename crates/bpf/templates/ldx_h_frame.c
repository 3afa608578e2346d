#include "bpf.h"
/* ldxh dst, [r10 + off] */
LOAD_FRAME(u16u, (uint64_t))
