/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* le32 dst (the host is little-endian: truncate) */
UNARY((uint32_t)DST)
