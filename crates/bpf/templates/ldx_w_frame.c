#include "bpf.h"
/* ldxw dst, [r10 + off] */
LOAD_FRAME(u32u, (uint64_t))
