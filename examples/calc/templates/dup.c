#include "calc.h"
PATCHJIT_STENCIL { sp[0] = sp[-1]; sp++; PATCHJIT_CONTINUE(); }
