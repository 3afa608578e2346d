#include "bpf.h"
/* stxh [dst + off], src */
STORE(2, u16u, SRC)
