#include "common.h"
PATCHJIT_HELPER(int64_t, allowed_helper, int64_t);
PATCHJIT_STENCIL { acc = allowed_helper(acc); PATCHJIT_CONTINUE(); }
