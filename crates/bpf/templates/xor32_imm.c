#include "bpf.h"
/* xor32 dst, imm */
ALU32(IMM, a ^ b)
