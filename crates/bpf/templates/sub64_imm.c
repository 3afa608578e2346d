#include "bpf.h"
/* sub dst, imm */
ALU64(IMM, d - v)
