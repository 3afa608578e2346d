#include "bpf.h"
/* smod dst, imm */
ALU64(IMM, v ? bpf_smod64(d, v) : d)
