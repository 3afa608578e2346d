#include "bpf.h"
/* stxdw [r10 + off], src */
STORE_FRAME(u64u, SRC)
