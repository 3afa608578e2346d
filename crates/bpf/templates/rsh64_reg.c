#include "bpf.h"
/* rsh dst, reg */
ALU64(SRC, d >> (v & 63))
