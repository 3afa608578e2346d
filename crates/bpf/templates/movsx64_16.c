#include "bpf.h"
/* movsx16 dst, src: the low 16 bits sign-extended to 64 */
UNARY((uint64_t)(int64_t)(int16_t)SRC)
