/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* bswap64 dst: the low 64 bits byte-swapped, zero-extended */
UNARY(__builtin_bswap64(DST))
