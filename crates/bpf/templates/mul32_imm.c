#include "bpf.h"
/* mul32 dst, imm */
ALU32(IMM, a * b)
