/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* lsh32 dst, reg */
ALU32(SRC, a << (b & 31))
