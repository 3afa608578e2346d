#include "calc.h"
/* Error exit: records the error code (operand 0) and leaves the program. */
PATCHJIT_STENCIL {
    vm->error = (int64_t)PATCHJIT_OPERAND0;
    return 0;
}
