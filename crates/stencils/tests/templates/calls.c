/* External data, an external function (through the GOT where the target says so), a string
 * literal, and a direct call to a hidden function (a trampoline candidate on AArch64). */
#include "jit.h"

IMPORT extern uintptr_t external_counter;
IMPORT extern uintptr_t external_function(uintptr_t, const char *);
#ifdef _WIN32
/* Windows: everything external is imported (CPython refuses plain REL32 to external symbols). */
IMPORT extern uintptr_t nearby_function(uintptr_t);
#else
__attribute__((visibility("hidden"))) extern uintptr_t nearby_function(uintptr_t);
#endif

STENCIL(_JIT_ENTRY) {
    external_counter += 1;
    sp[0] = external_function(sp[1], "hi\x01'");
    sp[1] = nearby_function(sp[2]);
    PATCH_JUMP(_JIT_CONTINUE);
}
