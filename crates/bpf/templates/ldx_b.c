#include "bpf.h"
/* ldxb dst, [src + off] */
LOAD(1, u8u, (uint64_t))
