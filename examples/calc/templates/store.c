#include "calc.h"
PATCHJIT_STENCIL { vm->locals[PATCHJIT_OPARG] = *--sp; PATCHJIT_CONTINUE(); }
