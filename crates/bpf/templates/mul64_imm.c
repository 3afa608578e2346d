#include "bpf.h"
/* mul dst, imm */
ALU64(IMM, d * v)
