#include "calc.h"
/* Returns the top value. */
PATCHJIT_STENCIL { return sp[-1]; }
