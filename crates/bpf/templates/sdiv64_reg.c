/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* sdiv dst, reg */
ALU64(SRC, v ? bpf_sdiv64(d, v) : 0)
