#include "bpf.h"
/* and dst, reg */
ALU64(SRC, d & v)
