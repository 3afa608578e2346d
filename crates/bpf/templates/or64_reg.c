#include "bpf.h"
/* or dst, reg */
ALU64(SRC, d | v)
