#include "bpf.h"
/* xor dst, imm */
ALU64(IMM, d ^ v)
