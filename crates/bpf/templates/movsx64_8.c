/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* movsx8 dst, src: the low 8 bits sign-extended to 64 */
UNARY((uint64_t)(int64_t)(int8_t)SRC)
