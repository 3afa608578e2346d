#include "bpf.h"
/* sub32 dst, reg */
ALU32(SRC, a - b)
