#include "bpf.h"
/* mod dst, imm */
ALU64(IMM, v ? d % v : d)
