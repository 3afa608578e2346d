#include "calc.h"
PATCHJIT_STENCIL { PATCHJIT_JUMP(); }
