/* patchjit-variants: D=0..=9 */
#include "bpf.h"
/* neg dst */
UNARY(-DST)
