#include "bpf.h"
/* jset dst, imm, target */
BRANCH(((uint64_t)DST & (uint64_t)IMM) != 0)
