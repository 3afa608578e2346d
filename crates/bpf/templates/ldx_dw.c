#include "bpf.h"
/* ldxdw dst, [src + off] */
LOAD(8, u64u, (uint64_t))
