#include "jit.h"
/* A client-defined hole value: `_JIT_SCALE` is declared to the extractor as custom. */
extern char _JIT_SCALE[];
STENCIL {
    acc *= (int64_t)(uintptr_t)_JIT_SCALE;
    NEXT();
}
