#include "bpf.h"
/* sth [r10 + off], imm */
STORE_FRAME(u16u, IMM)
