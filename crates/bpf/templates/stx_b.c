#include "bpf.h"
/* stxb [dst + off], src */
STORE(1, u8u, SRC)
