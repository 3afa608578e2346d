#include "bpf.h"
/* div dst, reg */
ALU64(SRC, v ? d / v : 0)
