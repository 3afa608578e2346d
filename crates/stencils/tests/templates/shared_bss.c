/* Twenty stencils (compiled with -ffunction-sections -fdata-sections) that all use one
 * zero-initialised array of SHARED_SIZE bytes (1 MiB unless defined): each group gets its own
 * copy, twenty times the array in all from a small object. */
#include "jit.h"

#ifndef SHARED_SIZE
#define SHARED_SIZE (1 << 20)
#endif

static volatile char shared[SHARED_SIZE];

#define USER(N)                      \
    STENCIL(user##N) {               \
        shared[sp[0]] = N;           \
        PATCH_JUMP(_JIT_CONTINUE);   \
    }

USER(0) USER(1) USER(2) USER(3) USER(4) USER(5) USER(6) USER(7) USER(8) USER(9)
USER(10) USER(11) USER(12) USER(13) USER(14) USER(15) USER(16) USER(17) USER(18) USER(19)
