#include "bpf.h"
/* sdiv32 dst, reg */
ALU32(SRC, b ? bpf_sdiv32(a, b) : 0)
