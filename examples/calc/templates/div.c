#include "calc.h"
/* Division by zero (-1) and INT64_MIN / -1 (-2) record an error and branch to the error
 * target (an `error_exit` instruction). */
PATCHJIT_STENCIL {
    int64_t a = sp[-2], b = sp[-1];
    if (b == 0 || (a == INT64_MIN && b == -1)) {
        vm->error = b == 0 ? -1 : -2;
        PATCHJIT_ERROR();
    }
    sp[-2] = a / b;
    sp--;
    PATCHJIT_CONTINUE();
}
