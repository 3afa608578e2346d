#include "jit.h"
STENCIL { state->sum += acc; NEXT(); }
