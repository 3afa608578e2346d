#include "jit.h"
STENCIL { GOTO(_JIT_JUMP_TARGET); }
