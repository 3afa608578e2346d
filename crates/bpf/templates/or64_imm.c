#include "bpf.h"
/* or dst, imm */
ALU64(IMM, d | v)
