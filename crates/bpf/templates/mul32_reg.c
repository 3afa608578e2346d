/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* mul32 dst, reg */
ALU32(SRC, a * b)
