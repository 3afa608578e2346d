#include "bpf.h"
/* mod dst, reg */
ALU64(SRC, v ? d % v : d)
