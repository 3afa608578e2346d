#include "bpf.h"
/* jsgt dst, reg, target */
BRANCH((int64_t)DST > (int64_t)SRC)
