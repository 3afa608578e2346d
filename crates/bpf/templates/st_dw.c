#include "bpf.h"
/* stdw [dst + off], imm */
STORE(8, u64u, IMM)
