/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* bswap16 dst: the low 16 bits byte-swapped, zero-extended */
UNARY(__builtin_bswap16((uint16_t)DST))
