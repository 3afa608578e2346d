#include "bpf.h"
/* sub32 dst, imm */
ALU32(IMM, a - b)
