#include "common.h"
PATCHJIT_HELPER(int64_t, forbidden_helper, int64_t);
PATCHJIT_STENCIL { acc = forbidden_helper(acc); PATCHJIT_CONTINUE(); }
