#include "bpf.h"
/* add dst, imm */
ALU64(IMM, d + v)
