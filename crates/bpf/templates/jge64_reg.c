#include "bpf.h"
/* jge dst, reg, target */
BRANCH((uint64_t)DST >= (uint64_t)SRC)
