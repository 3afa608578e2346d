#include "calc.h"
/* Pops the top value; branches to the jump target if it is zero. */
PATCHJIT_STENCIL {
    if (*--sp == 0) {
        PATCHJIT_JUMP();
    }
    PATCHJIT_CONTINUE();
}
