#include "jit.h"
STENCIL { acc = state->sum; NEXT(); }
