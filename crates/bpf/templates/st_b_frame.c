#include "bpf.h"
/* stb [r10 + off], imm */
STORE_FRAME(u8u, IMM)
