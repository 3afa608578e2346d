#include "bpf.h"
/* and dst, imm */
ALU64(IMM, d & v)
