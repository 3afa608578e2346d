#include "jit.h"
/* Decrements and jumps while positive: a branch whose fall-through path has nothing to do, so
 * clang ends it in `jcc CONTINUE; jmp JUMP_TARGET` (hot-path fallthrough's shape). */
STENCIL {
    acc -= 1;
    if (acc > 0) {
        GOTO(_JIT_JUMP_TARGET);
    }
    NEXT();
}
