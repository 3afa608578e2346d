#include "bpf.h"
/* jset dst, reg, target */
BRANCH(((uint64_t)DST & (uint64_t)SRC) != 0)
