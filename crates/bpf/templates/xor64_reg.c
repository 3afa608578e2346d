#include "bpf.h"
/* xor dst, reg */
ALU64(SRC, d ^ v)
