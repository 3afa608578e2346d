#include "jit.h"
STENCIL { return acc; }
