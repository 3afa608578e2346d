/* patchjit-variants: CHECKED=0,1,2 D=0..=10 S=0..=10 */
#include "bpf.h"
/* stxdw [dst + off], src */
STORE(8, u64u, SRC)
