#include "bpf.h"
/* add dst, reg */
ALU64(SRC, d + v)
