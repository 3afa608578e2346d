#include "bpf.h"
/* mul dst, reg */
ALU64(SRC, d * v)
