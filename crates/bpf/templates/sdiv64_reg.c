#include "bpf.h"
/* sdiv dst, reg */
ALU64(SRC, v ? bpf_sdiv64(d, v) : 0)
