/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* movsx32 dst, src (8): sign-extended to 32 bits, then zero-extended */
UNARY((uint32_t)(int32_t)(int8_t)SRC)
