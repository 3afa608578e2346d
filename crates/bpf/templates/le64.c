/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* le64 dst (the host is little-endian: nothing changes) */
UNARY(DST)
