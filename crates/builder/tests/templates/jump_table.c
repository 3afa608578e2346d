#include "common.h"
PATCHJIT_HELPER(int64_t, h0, int64_t);
PATCHJIT_HELPER(int64_t, h1, int64_t);
PATCHJIT_HELPER(int64_t, h2, int64_t);
PATCHJIT_HELPER(int64_t, h3, int64_t);
PATCHJIT_HELPER(int64_t, h4, int64_t);
PATCHJIT_HELPER(int64_t, h5, int64_t);
PATCHJIT_STENCIL {
    switch (PATCHJIT_OPARG) {
    case 0: acc = h0(acc) + 3; break;
    case 1: acc = h1(acc * 7); break;
    case 2: acc = h2(acc) - 9; break;
    case 3: acc = h3(acc ^ 5); break;
    case 4: acc = h4(acc) << 2; break;
    case 5: acc = h5(acc / 3); break;
    }
    PATCHJIT_CONTINUE();
}
