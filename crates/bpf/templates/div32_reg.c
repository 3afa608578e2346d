#include "bpf.h"
/* div32 dst, reg */
ALU32(SRC, b ? a / b : 0)
