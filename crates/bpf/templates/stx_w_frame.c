#include "bpf.h"
/* stxw [r10 + off], src */
STORE_FRAME(u32u, SRC)
