#include "common.h"
PATCHJIT_STENCIL {
#define STEP(i) acc = acc * (int64_t)PATCHJIT_OPERAND0 + (i) * (int64_t)PATCHJIT_OPERAND1; sp[(i) & 7] = acc;
#define STEP8(i) STEP(i) STEP(i + 1) STEP(i + 2) STEP(i + 3) STEP(i + 4) STEP(i + 5) STEP(i + 6) STEP(i + 7)
    STEP8(0) STEP8(8) STEP8(16) STEP8(24)
    PATCHJIT_CONTINUE();
}
