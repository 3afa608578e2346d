#include "bpf.h"
/* ldxb dst, [r10 + off] */
LOAD_FRAME(u8u, (uint64_t))
