#include "bpf.h"
/* and32 dst, reg */
ALU32(SRC, a & b)
