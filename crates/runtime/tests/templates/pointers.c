#include "jit.h"
/* A data stencil of code addresses: absolute relocations in data. */
static const char *const targets[2] = {_JIT_JUMP_TARGET, _JIT_ERROR_TARGET};
STENCIL { GOTO(targets[acc & 1]); }
