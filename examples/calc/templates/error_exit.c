#include "calc.h"
/* Leaves the program after an operation recorded an error in `vm->error`. */
PATCHJIT_STENCIL { return 0; }
