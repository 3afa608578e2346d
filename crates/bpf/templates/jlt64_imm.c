#include "bpf.h"
/* jlt dst, imm, target */
BRANCH((uint64_t)DST < (uint64_t)IMM)
