/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* movsx32 dst, src: the low 32 bits sign-extended to 64 */
UNARY((uint64_t)(int64_t)(int32_t)SRC)
