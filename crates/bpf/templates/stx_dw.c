#include "bpf.h"
/* stxdw [dst + off], src */
STORE(8, u64u, SRC)
