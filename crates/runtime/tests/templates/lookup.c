#include "jit.h"
/* A data stencil: a constant table referenced by absolute address. */
static const int64_t squares[8] = {0, 1, 4, 9, 16, 25, 36, 49};
STENCIL {
    acc = squares[acc & 7];
    NEXT();
}
