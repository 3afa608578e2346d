#include "bpf.h"
/* rsh32 dst, reg */
ALU32(SRC, a >> (b & 31))
