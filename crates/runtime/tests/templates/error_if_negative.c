#include "jit.h"
STENCIL {
    if (acc < 0) {
        GOTO(_JIT_ERROR_TARGET);
    }
    NEXT();
}
