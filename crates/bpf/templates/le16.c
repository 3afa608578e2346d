/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* le16 dst (the host is little-endian: truncate) */
UNARY((uint16_t)DST)
