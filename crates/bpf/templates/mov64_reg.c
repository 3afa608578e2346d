#include "bpf.h"
/* mov dst, reg */
ALU64(SRC, v)
