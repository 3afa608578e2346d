/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* xor dst, imm */
ALU64(WIDE, d ^ v)
