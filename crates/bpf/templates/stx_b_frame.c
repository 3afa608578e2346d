#include "bpf.h"
/* stxb [r10 + off], src */
STORE_FRAME(u8u, SRC)
