#include "jit.h"
/* Eight bytes of data, 8-aligned: what follows it starts on an odd multiple of 8 unless the
 * emitter honours the next group's own alignment. */
static const int64_t seven = 7;
STENCIL {
    const int64_t *p = &seven;
    __asm__("" : "+r"(p));
    acc += *p;
    NEXT();
}
