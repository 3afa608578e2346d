#include "calc.h"
PATCHJIT_STENCIL { sp[-2] = WRAP(sp[-2], +, sp[-1]); sp--; PATCHJIT_CONTINUE(); }
