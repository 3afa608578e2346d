#include "common.h"
PATCHJIT_HELPER(void, fill, char *);
PATCHJIT_STENCIL { char buffer[64]; fill(buffer); acc += buffer[acc & 63]; PATCHJIT_CONTINUE(); }
