#include "bpf.h"
/* ldxw dst, [src + off] */
LOAD(4, u32u, (uint64_t))
