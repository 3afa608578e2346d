#include "common.h"
_Thread_local int64_t counter;
PATCHJIT_STENCIL { counter += acc; PATCHJIT_CONTINUE(); }
