#include "jit.h"
STENCIL { acc *= OPARG; NEXT(); }
