#include "jit.h"
STENCIL { acc = OPERAND0; NEXT(); }
