#include "common.h"
/* Wrong: a call, not a tail call, so the stack grows with every instruction. */
PATCHJIT_STENCIL { int64_t r = ((patchjit_stencil)_JIT_CONTINUE)(sp, acc); return r + 1; }
