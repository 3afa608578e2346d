/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* be32 dst: the low 32 bits byte-swapped, zero-extended */
UNARY(__builtin_bswap32((uint32_t)DST))
