#include "bpf.h"
/* mov32 dst, imm */
ALU32(IMM, b)
