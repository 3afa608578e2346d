#include "bpf.h"
/* mod32 dst, reg */
ALU32(SRC, b ? a % b : a)
