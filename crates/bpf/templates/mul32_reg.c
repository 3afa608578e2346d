#include "bpf.h"
/* mul32 dst, reg */
ALU32(SRC, a * b)
