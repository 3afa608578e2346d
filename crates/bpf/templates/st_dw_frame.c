#include "bpf.h"
/* stdw [r10 + off], imm */
STORE_FRAME(u64u, IMM)
