#include "bpf.h"
/* lsh32 dst, reg */
ALU32(SRC, a << (b & 31))
