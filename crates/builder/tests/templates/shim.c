#include "common.h"
/* The entry: a C-ABI function that calls into the JIT code (allowed for shims only). */
int64_t _JIT_ENTRY(int64_t *sp) { return PATCHJIT_ENTER(sp, 0); }
