#include "bpf.h"
/* or32 dst, imm */
ALU32(IMM, a | b)
