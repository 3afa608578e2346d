/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* add dst, imm */
ALU64(IMM, d + v)
