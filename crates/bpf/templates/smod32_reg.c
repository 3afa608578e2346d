#include "bpf.h"
/* smod32 dst, reg */
ALU32(SRC, b ? bpf_smod32(a, b) : a)
