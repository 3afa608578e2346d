/* The eBPF division rule by an immediate (the miscompiled case): x / 0 = 0, never a trap. */
#define PATCHJIT_PARAMS int64_t *out
#define PATCHJIT_ARGS out
#include "patchjit.h"

PATCHJIT_STENCIL {
    uint64_t v = PATCHJIT_OPERAND0;
    *out = v ? (int64_t)((uint64_t)*out / v) : 0;
    PATCHJIT_CONTINUE();
}
