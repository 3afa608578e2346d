#include "bpf.h"
/* stxw [dst + off], src */
STORE(4, u32u, SRC)
