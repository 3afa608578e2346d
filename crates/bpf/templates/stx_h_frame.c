#include "bpf.h"
/* stxh [r10 + off], src */
STORE_FRAME(u16u, SRC)
