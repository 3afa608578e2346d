#include "bpf.h"
/* smod dst, reg */
ALU64(SRC, v ? bpf_smod64(d, v) : d)
