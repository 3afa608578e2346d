/* patchjit-variants: D=0..=9 S=0..=10 */
#include "bpf.h"
/* smod dst, reg */
ALU64(SRC, v ? bpf_smod64(d, v) : d)
