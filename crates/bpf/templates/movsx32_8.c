#include "bpf.h"
/* movsx32 dst, src (8): sign-extended to 32 bits, then zero-extended */
UNARY((uint32_t)(int32_t)(int8_t)SRC)
