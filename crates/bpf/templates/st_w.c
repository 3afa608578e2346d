#include "bpf.h"
/* stw [dst + off], imm */
STORE(4, u32u, IMM)
