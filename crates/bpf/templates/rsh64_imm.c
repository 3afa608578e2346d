#include "bpf.h"
/* rsh dst, imm */
ALU64(IMM, d >> (v & 63))
