#include "bpf.h"
/* sth [dst + off], imm */
STORE(2, u16u, IMM)
