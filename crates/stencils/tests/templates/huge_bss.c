/* Two 256 MiB zero-initialised arrays (each in its own section with -fdata-sections): a
 * 1.3 KB object whose stencil would be half a gigabyte. Extraction must refuse it at once. */
#include "jit.h"

static volatile char a[1 << 28];
static volatile char b[1 << 28];

STENCIL(_JIT_ENTRY) {
    a[sp[0]] = 1;
    sp[0] = b[sp[1]];
    PATCH_JUMP(_JIT_CONTINUE);
}
