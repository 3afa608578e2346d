#include "calc.h"
/* Replaces the top value by its integer square root, computed by a Rust helper. */
PATCHJIT_HELPER(int64_t, calc_isqrt, int64_t);
PATCHJIT_STENCIL { sp[-1] = calc_isqrt(sp[-1]); PATCHJIT_CONTINUE(); }
