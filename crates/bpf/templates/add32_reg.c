#include "bpf.h"
/* add32 dst, reg */
ALU32(SRC, a + b)
