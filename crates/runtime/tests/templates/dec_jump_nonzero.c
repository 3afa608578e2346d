#include "jit.h"
STENCIL {
    acc -= 1;
    if (acc != 0) {
        GOTO(_JIT_JUMP_TARGET);
    }
    NEXT();
}
