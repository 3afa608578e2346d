#include "bpf.h"
/* jsle dst, reg, target */
BRANCH((int64_t)DST <= (int64_t)SRC)
