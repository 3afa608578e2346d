#include "bpf.h"
/* jslt dst, reg, target */
BRANCH((int64_t)DST < (int64_t)SRC)
