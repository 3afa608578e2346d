#include "bpf.h"
/* mov dst, imm */
ALU64(IMM, v)
