#include "bpf.h"
/* stw [r10 + off], imm */
STORE_FRAME(u32u, IMM)
