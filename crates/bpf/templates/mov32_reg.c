#include "bpf.h"
/* mov32 dst, reg */
ALU32(SRC, b)
