/* patchjit-variants: CHECKED=0,1,2 D=0..=10 S=0..=10 */
#include "bpf.h"
/* stxb [dst + off], src */
STORE(1, u8u, SRC)
