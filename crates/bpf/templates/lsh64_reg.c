#include "bpf.h"
/* lsh dst, reg */
ALU64(SRC, d << (v & 63))
