#include "jit.h"
/* A 1 MiB constant table: puts the GOT beyond LDR-literal reach of the code. */
static const char far[1 << 20] = {1, 2, 3};
STENCIL {
    acc = OPERAND0 + far[acc & 0xFFFFF];
    NEXT();
}
