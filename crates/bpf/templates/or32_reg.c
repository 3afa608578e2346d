#include "bpf.h"
/* or32 dst, reg */
ALU32(SRC, a | b)
