/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* neg32 dst */
UNARY((uint32_t)-(uint32_t)DST)
