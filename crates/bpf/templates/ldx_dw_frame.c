#include "bpf.h"
/* ldxdw dst, [r10 + off] */
LOAD_FRAME(u64u, (uint64_t))
