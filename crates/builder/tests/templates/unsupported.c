#include "common.h"
extern int64_t far_away;
PATCHJIT_STENCIL { acc += (int64_t)(intptr_t)&far_away; PATCHJIT_CONTINUE(); }
