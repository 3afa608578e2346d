#include "bpf.h"
/* sub dst, reg */
ALU64(SRC, d - v)
