#include "bpf.h"
/* xor32 dst, reg */
ALU32(SRC, a ^ b)
