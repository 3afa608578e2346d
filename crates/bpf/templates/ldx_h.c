#include "bpf.h"
/* ldxh dst, [src + off] */
LOAD(2, u16u, (uint64_t))
