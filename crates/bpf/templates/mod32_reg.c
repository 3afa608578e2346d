/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* mod32 dst, reg */
ALU32(SRC, b ? a % b : a)
