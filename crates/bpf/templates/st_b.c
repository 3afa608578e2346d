#include "bpf.h"
/* stb [dst + off], imm */
STORE(1, u8u, IMM)
