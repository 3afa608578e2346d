#include "calc.h"
PATCHJIT_STENCIL { *sp++ = vm->locals[PATCHJIT_OPARG]; PATCHJIT_CONTINUE(); }
